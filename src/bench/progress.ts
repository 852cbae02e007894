// Progress of a benchmark: a cli-progress bar on an interactive terminal; nothing per step elsewhere
// (CI logs, pipes), where only the suite start lines are printed.
import cliProgress from "cli-progress";

export interface BenchProgress {
  /** a new phase of `total` steps */
  start(phase: string, total: number): void;
  tick(detail?: string): void;
  stop(): void;
  /** a line that stays (printed above the bar on a TTY) */
  log(line: string): void;
}

export function benchProgress(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env, quiet = false): BenchProgress {
  if (quiet) return { start() {}, tick() {}, stop() {}, log() {} };
  const interactive = !!stream.isTTY && !env.CI;
  if (!interactive) {
    return {
      start(phase, total) {
        stream.write(`flint bench: ${phase} (${total} runs)\n`);
      },
      tick() {},
      stop() {},
      log(line) {
        stream.write(line + "\n");
      },
    };
  }
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  let phaseName = "";
  return {
    start(phase, total) {
      bar?.stop();
      phaseName = phase;
      done = 0;
      bar = new cliProgress.SingleBar(
        { stream, format: "{phase} [{bar}] {value}/{total} {detail}", barCompleteChar: "#", barIncompleteChar: "-", hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.legacy,
      );
      bar.start(total, 0, { phase, detail: "" });
    },
    tick(detail = "") {
      bar?.update(++done, { phase: phaseName, detail });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
    log(line) {
      if (bar) {
        bar.stop();
        stream.write(line + "\n");
        const total = bar.getTotal();
        bar.start(total, done, { phase: phaseName, detail: "" });
      } else stream.write(line + "\n");
    },
  };
}
