// Small, dependency-free SVG charts for benchmark reports: a bar chart and a line chart with axes,
// tick labels, axis titles, a title and a legend. Output is standalone, well-formed XML.

export interface Bar {
  label: string;
  value: number;
  /** drawn hatched-light and marked "*" (e.g. simulated acceptance) */
  highlight?: boolean;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  bars: Bar[];
  /** footnote under the chart (e.g. "* simulated acceptance") */
  footnote?: string;
  width?: number;
  height?: number;
}

export interface Series {
  name: string;
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** log2 x axis (context lengths, budgets) */
  xLog?: boolean;
  footnote?: string;
  width?: number;
  height?: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];
const FONT = `font-family="Helvetica, Arial, sans-serif"`;

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function fmt(n: number): string {
  if (n === 0) return "0";
  const a = Math.abs(n);
  if (a >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toPrecision(3)}k`;
  if (a >= 100) return String(Math.round(n));
  return String(+n.toPrecision(3));
}

/** "Nice" ticks covering [lo, hi]: steps of 1, 2 or 5 x 10^k. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi <= lo) hi = lo + (lo === 0 ? 1 : Math.abs(lo));
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let t = start; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  if (ticks[ticks.length - 1] < hi) ticks.push(+(ticks[ticks.length - 1] + step).toPrecision(12));
  return ticks;
}

interface Frame {
  w: number;
  h: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function frame(w: number, h: number, extraBottom = 0): Frame {
  return { w, h, left: 70, right: w - 20, top: 44, bottom: h - 56 - extraBottom };
}

function header(f: Frame, title: string, xLabel: string, yLabel: string): string[] {
  const cx = (f.left + f.right) / 2;
  const cy = (f.top + f.bottom) / 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.w}" height="${f.h}" viewBox="0 0 ${f.w} ${f.h}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${f.w}" height="${f.h}" fill="#ffffff"/>`,
    `<text class="title" x="${f.w / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold" ${FONT}>${escapeXml(title)}</text>`,
    `<text class="x-label" x="${cx}" y="${f.h - 12}" text-anchor="middle" font-size="13" ${FONT}>${escapeXml(xLabel)}</text>`,
    `<text class="y-label" x="16" y="${cy}" text-anchor="middle" font-size="13" transform="rotate(-90 16 ${cy})" ${FONT}>${escapeXml(yLabel)}</text>`,
  ];
}

function yAxis(f: Frame, ticks: number[], y: (v: number) => number): string[] {
  const out = [`<g class="y-axis">`, `<line x1="${f.left}" y1="${f.top}" x2="${f.left}" y2="${f.bottom}" stroke="#333"/>`];
  for (const t of ticks) {
    const yy = y(t).toFixed(1);
    out.push(`<line x1="${f.left}" y1="${yy}" x2="${f.right}" y2="${yy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${f.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" font-size="11" ${FONT}>${fmt(t)}</text>`);
  }
  out.push(`</g>`);
  return out;
}

function footnote(f: Frame, text: string | undefined): string[] {
  return text ? [`<text class="footnote" x="${f.left}" y="${f.h - 30}" font-size="11" fill="#555" ${FONT}>${escapeXml(text)}</text>`] : [];
}

export function barChart(o: BarChartOptions): string {
  const n = Math.max(1, o.bars.length);
  const w = o.width ?? Math.max(480, 90 + n * 70);
  const longest = o.bars.reduce((m, b) => Math.max(m, b.label.length + (b.highlight ? 2 : 0)), 0);
  // long labels are drawn rotated; leave room under the axis for them
  const rotate = longest * 6.5 > (w - 90) / n;
  const extra = rotate ? Math.min(140, Math.ceil(longest * 5)) : 0;
  const h = (o.height ?? 380) + extra;
  const f = frame(w, h, extra);
  const max = Math.max(0, ...o.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
  const ticks = niceTicks(0, max);
  const top = ticks[ticks.length - 1];
  const y = (v: number) => f.bottom - ((f.bottom - f.top) * v) / top;
  const out = header(f, o.title, o.xLabel, o.yLabel);
  out.push(...yAxis(f, ticks, y));
  const slot = (f.right - f.left) / n;
  out.push(`<g class="bars">`);
  o.bars.forEach((b, i) => {
    const v = Number.isFinite(b.value) ? Math.max(0, b.value) : 0;
    const x = f.left + i * slot + slot * 0.15;
    const bw = slot * 0.7;
    const yy = y(v);
    const color = COLORS[i % COLORS.length];
    out.push(
      `<rect class="bar" x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${bw.toFixed(1)}" height="${(f.bottom - yy).toFixed(1)}" fill="${color}"${b.highlight ? ` fill-opacity="0.45" stroke="${color}" stroke-dasharray="4 2"` : ""}><title>${escapeXml(`${b.label}: ${fmt(v)}`)}</title></rect>`,
    );
    out.push(`<text class="value" x="${(x + bw / 2).toFixed(1)}" y="${(yy - 4).toFixed(1)}" text-anchor="middle" font-size="11" ${FONT}>${fmt(v)}</text>`);
    const lx = x + bw / 2;
    const label = escapeXml(b.label + (b.highlight ? " *" : ""));
    out.push(
      rotate
        ? `<text class="tick" x="${lx.toFixed(1)}" y="${f.bottom + 12}" text-anchor="end" font-size="11" transform="rotate(-35 ${lx.toFixed(1)} ${f.bottom + 12})" ${FONT}>${label}</text>`
        : `<text class="tick" x="${lx.toFixed(1)}" y="${f.bottom + 16}" text-anchor="middle" font-size="11" ${FONT}>${label}</text>`,
    );
  });
  out.push(`</g>`);
  out.push(`<line class="x-axis" x1="${f.left}" y1="${f.bottom}" x2="${f.right}" y2="${f.bottom}" stroke="#333"/>`);
  out.push(...footnote(f, o.footnote));
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

export function lineChart(o: LineChartOptions): string {
  const w = o.width ?? 640;
  const h = o.height ?? 400;
  const f = frame(w, h);
  const pts = o.series.flatMap((s) => s.points).filter(([x, v]) => Number.isFinite(x) && Number.isFinite(v) && (!o.xLog || x > 0));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const yTicks = niceTicks(Math.min(0, ...ys), Math.max(0, ...ys));
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  let xTicks: number[];
  let xt: (v: number) => number;
  if (o.xLog) {
    const lo = Math.floor(Math.log2(Math.min(...xs, 1e300) || 1));
    const hi = Math.ceil(Math.log2(Math.max(...xs, 2)));
    const span = Math.max(1, hi - lo);
    const every = Math.ceil(span / 8);
    xTicks = [];
    for (let e = lo; e <= lo + span; e += every) xTicks.push(2 ** e);
    xt = (v) => (Math.log2(v) - lo) / span;
  } else {
    xTicks = niceTicks(Math.min(...xs, 0), Math.max(...xs, 1), 6);
    const a = xTicks[0];
    const b = xTicks[xTicks.length - 1];
    xt = (v) => (v - a) / (b - a || 1);
  }
  const x = (v: number) => f.left + (f.right - f.left) * xt(v);
  const y = (v: number) => f.bottom - ((f.bottom - f.top) * (v - y0)) / (y1 - y0 || 1);
  const out = header(f, o.title, o.xLabel, o.yLabel);
  out.push(...yAxis(f, yTicks, y));
  out.push(`<g class="x-axis">`, `<line x1="${f.left}" y1="${f.bottom}" x2="${f.right}" y2="${f.bottom}" stroke="#333"/>`);
  for (const t of xTicks) {
    const xx = x(t).toFixed(1);
    out.push(`<line x1="${xx}" y1="${f.bottom}" x2="${xx}" y2="${f.bottom + 4}" stroke="#333"/>`);
    out.push(`<text class="tick" x="${xx}" y="${f.bottom + 16}" text-anchor="middle" font-size="11" ${FONT}>${fmt(t)}</text>`);
  }
  out.push(`</g>`);
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const p = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py) && (!o.xLog || px > 0)).sort((a, b) => a[0] - b[0]);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (p.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${p.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" ")}"/>`);
    for (const [px, py] of p) {
      out.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}: ${fmt(px)}, ${fmt(py)}`)}</title></circle>`);
    }
    out.push(`</g>`);
  });
  // legend, top right inside the plot
  out.push(`<g class="legend">`);
  o.series.forEach((s, i) => {
    const ly = f.top + 8 + i * 16;
    const lx = f.right - 150;
    out.push(`<rect x="${lx}" y="${ly - 5}" width="12" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly}" dominant-baseline="middle" font-size="11" ${FONT}>${escapeXml(s.name)}</text>`);
  });
  out.push(`</g>`);
  out.push(...footnote(f, o.footnote));
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
