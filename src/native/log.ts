// llama.cpp and ggml log through one callback. flint keeps the recent lines so that a failed load
// can say why, and prints them only at the level the user asked for (--verbose).
import koffi from "koffi";
import { ggml_log_callback, type LlamaApi } from "./llama-api.js";

export type LogLevel = "none" | "error" | "warn" | "info" | "debug";
const LEVELS: Record<LogLevel, number> = { none: 99, error: 4, warn: 3, info: 2, debug: 1 };
const KEEP = 64;

// errors show by default: a CUDA abort logs its reason at error level just before it kills the process
let threshold = LEVELS.error;
let lastLevel = 2;
let partial = "";
const recent: string[] = [];
let registered: koffi.IKoffiRegisteredCallback | undefined;

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

/** The last lines llama.cpp logged at warning level or above (newest last). */
export function recentProblems(max = 6): string[] {
  return recent.slice(-max);
}

export function clearRecentLog(): void {
  recent.length = 0;
}

function onLog(level: number, text: string): void {
  // GGML_LOG_LEVEL_CONT (5) continues the previous line at its level
  const effective = level === 5 ? lastLevel : level;
  lastLevel = effective;
  if (effective >= threshold) process.stderr.write(text);
  if (effective < LEVELS.warn) return;
  partial += text;
  const lines = partial.split("\n");
  partial = lines.pop() ?? "";
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed) recent.push(trimmed);
  }
  if (recent.length > KEEP) recent.splice(0, recent.length - KEEP);
}

export function installLogger(api: LlamaApi): void {
  if (registered) return;
  registered = koffi.register((level: number, text: string) => onLog(level, text ?? ""), koffi.pointer(ggml_log_callback));
  api.llama_log_set(registered, null);
}
