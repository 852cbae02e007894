// Download progress: a cli-progress bar on an interactive terminal; on anything else (CI logs,
// pipes) nothing per chunk, only the start and end lines the caller prints.
import cliProgress from "cli-progress";
import { formatBytes } from "../models/inspect.js";

export interface Progress {
  update(done: number, total: number, file: string): void;
  stop(): void;
}

export function byteProgress(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): Progress {
  if (!stream.isTTY || env.CI) return { update() {}, stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  let startBytes = 0;
  return {
    update(done, total, file) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: "{file} [{bar}] {percentage}% {done}/{size} {speed} eta {eta_formatted}",
            barCompleteChar: "#",
            barIncompleteChar: "-",
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.legacy,
        );
        bar.start(total, 0, { file, done: formatBytes(0), size: formatBytes(total), speed: "" });
        started = performance.now();
        startBytes = done;
      }
      const secs = (performance.now() - started) / 1000;
      const speed = secs > 0.5 ? `${formatBytes(Math.round((done - startBytes) / secs))}/s` : "";
      bar.update(done, { file, done: formatBytes(done), size: formatBytes(total), speed });
    },
    stop() {
      bar?.stop();
    },
  };
}
