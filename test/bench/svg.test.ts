// The SVG charts are well-formed XML with a title, axis labels, ticks and one mark per value.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { barChart, escapeXml, lineChart, niceTicks } from "../../src/bench/svg.js";

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" });
const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
type Node = Record<string, unknown>;
const texts = (svg: Node) => asArray(svg.text as Node[]).map((t) => String(t["#text"]));

describe("svg charts", () => {
  it("bar chart: valid XML, title, axis labels, one bar per value, escaped labels, highlighted bars marked", () => {
    const svg = barChart({ title: "Speed <by> mode & more", xLabel: "mode", yLabel: "tokens/s", bars: [{ label: "a<b", value: 10 }, { label: "oracle", value: 25.5, highlight: true }, { label: "c", value: 0 }], footnote: "* simulated" });
    expect(XMLValidator.validate(svg)).toBe(true);
    const root = parser.parse(svg).svg as Node;
    expect(root["@xmlns"]).toBe("http://www.w3.org/2000/svg");
    expect(root.title).toBe("Speed <by> mode & more");
    expect(texts(root)).toEqual(expect.arrayContaining(["Speed <by> mode & more", "mode", "tokens/s", "* simulated"]));
    const bars = asArray((asArray(root.g as Node[]).find((g) => g["@class"] === "bars") as Node).rect as Node[]);
    expect(bars).toHaveLength(3);
    expect(bars[1]["@fill-opacity"]).toBe("0.45");
    // heights follow the values (the zero bar has none)
    expect(Number(bars[1]["@height"])).toBeGreaterThan(Number(bars[0]["@height"]));
    expect(Number(bars[2]["@height"])).toBe(0);
    expect(svg).toContain("a&lt;b");
  });

  it("line chart: valid XML, a polyline and points per series, legend, log2 x ticks", () => {
    const svg = lineChart({ title: "TTFT", xLabel: "prompt tokens", yLabel: "ms", xLog: true, series: [{ name: "full", points: [[512, 10], [1024, 21], [2048, 45]] }, { name: "pflash", points: [[512, 12], [2048, 15]] }] });
    expect(XMLValidator.validate(svg)).toBe(true);
    const root = parser.parse(svg).svg as Node;
    const groups = asArray(root.g as Node[]);
    const series = groups.filter((g) => g["@class"] === "series");
    expect(series.map((s) => s["@data-name"])).toEqual(["full", "pflash"]);
    expect(asArray(series[0].circle as Node[])).toHaveLength(3);
    expect(series[0].polyline).toBeDefined();
    const xAxis = groups.find((g) => g["@class"] === "x-axis")!;
    expect(asArray(xAxis.text as Node[]).map((t) => String(t["#text"]))).toEqual(["512", "1024", "2048"]);
    const legend = groups.find((g) => g["@class"] === "legend")!;
    expect(asArray(legend.text as Node[]).map((t) => t["#text"])).toEqual(["full", "pflash"]);
    expect(texts(root)).toEqual(expect.arrayContaining(["TTFT", "prompt tokens", "ms"]));
  });

  it("empty or degenerate data still gives valid XML", () => {
    expect(XMLValidator.validate(barChart({ title: "t", xLabel: "x", yLabel: "y", bars: [] }))).toBe(true);
    expect(XMLValidator.validate(lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "s", points: [[1, 1]] }] }))).toBe(true);
    expect(XMLValidator.validate(lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [] }))).toBe(true);
  });

  it("nice ticks cover the range in 1/2/5 steps; escaping covers XML's specials", () => {
    expect(niceTicks(0, 97)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 4.2)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(escapeXml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
  });
});
