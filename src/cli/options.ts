// Shared option parsers: each rejects bad input with a message that names the flag.
import { InvalidArgumentError } from "commander";
import { MAX_BUDGET } from "../spec/generate-spec.js";

export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}], got ${n}`);
    return n;
  };
}

export function num(min: number, max = Number.POSITIVE_INFINITY) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got ${n}`);
    return n;
  };
}

export function choice<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(", ")}, got "${value}"`);
    return value as T;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** KV cache types the commands offer (--cache-type-k/-v) */
export const CACHE_TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0"] as const;
export type CliCacheType = (typeof CACHE_TYPES)[number];

/** --budget N|auto: drafted nodes per verify step, at most MAX_BUDGET (one KV sequence per tree path) */
export function budgetArg(value: string): number | "auto" {
  return value === "auto" ? "auto" : int(0, MAX_BUDGET)(value);
}
