// --model arguments: a path, or an hf: spec resolved through the cache (pulled with a progress bar
// when missing, unless offline).
import { resolveModel } from "../models/hub.js";
import { byteProgress } from "./progress.js";

export async function resolveModelArg(spec: string, o: { offline?: boolean } = {}): Promise<string> {
  const progress = byteProgress();
  try {
    return await resolveModel(spec, {
      offline: o.offline,
      log: (l) => {
        progress.stop();
        process.stderr.write(`flint: ${l}\n`);
      },
      onProgress: (p) => progress.update(p.done, p.total, p.file),
    });
  } finally {
    progress.stop();
  }
}
