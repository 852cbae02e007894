// Runs flint subcommands in-process with stdout captured, for tests of command output.
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, vi } from "vitest";

export function captureCommands(...registers: ((program: Command) => void)[]) {
  const state = { stdout: "" };
  beforeAll(() => {
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      state.stdout += String(s);
      return true;
    });
  });
  afterEach(() => {
    state.stdout = "";
  });
  afterAll(() => vi.restoreAllMocks());
  const run = async (...args: string[]) => {
    const program = new Command().exitOverride();
    for (const register of registers) register(program);
    await program.parseAsync(["node", "flint", ...args]);
  };
  return { state, run };
}
