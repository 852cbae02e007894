// `flint ls`: models on this machine (Hugging Face cache and model directories).
import type { Command } from "commander";
import { hubSettings } from "../models/hub.js";
import { formatBytes, formatCount } from "../models/inspect.js";
import { defaultModelsDir, listLocalModels, type LocalStore } from "../models/local-store.js";
import { collect } from "./options.js";

export function registerLs(program: Command): void {
  program
    .command("ls")
    .description("list local models: the Hugging Face cache and the models directory, with size, architecture and quantization")
    .option("--dir <path>", "also list GGUF files under this directory (repeatable)", collect, [])
    .option("--json", "print one JSON object")
    .action(async (o: { dir: string[]; json?: boolean }) => {
      const store = await listLocalModels({ cacheDir: hubSettings().cacheDir, dirs: [defaultModelsDir(), ...o.dir] });
      process.stdout.write(o.json ? JSON.stringify(store) + "\n" : formatStore(store) + "\n");
    });
}

export function formatStore(s: LocalStore): string {
  const rows = s.models.map((m) => [
    m.name,
    m.error ? "?" : formatBytes(m.bytes),
    m.architecture ?? "?",
    m.quantization ?? "?",
    m.parameterCount === undefined ? "?" : formatCount(m.parameterCount),
    m.parts > 1 ? `${m.parts} parts` : "",
  ]);
  const head = ["MODEL", "SIZE", "ARCH", "QUANT", "PARAMS", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const out: string[] = [];
  if (rows.length) {
    out.push(line(head));
    s.models.forEach((m, i) => {
      out.push(line(rows[i]));
      if (m.error) out.push(`  (unreadable: ${m.error})`);
    });
  } else {
    out.push("no models found");
  }
  for (const p of s.partial) out.push(`partial download: ${p.repo}, ${formatBytes(p.bytes)} so far (${p.path}); \`flint pull\` of the same model resumes it`);
  out.push(`searched: ${s.searched.join(", ")}`);
  return out.join("\n");
}
