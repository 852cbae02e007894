// `flint run --ctx auto` on a generated model: the context is chosen before loading and printed.
import { describe, expect, it, vi } from "vitest";
import { registerRun } from "../../src/cli/run.js";
import { captureCommands } from "../helpers/cli-capture.js";
import { tinyModelPath } from "../helpers/models.js";

describe("flint run --ctx auto", () => {
  const { state, run } = captureCommands(registerRun);
  it("picks the largest context that fits (the tiny model's training context of 4096) and says so", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await run("run", "--model", await tinyModelPath(), "--ctx", "auto", "--prompt", "hello", "-n", "2", "--temperature", "0", "--gpu-layers", "0", "--threads", "1", "--json");
      const lines = stderr.mock.calls.map((c) => String(c[0]));
      expect(lines.some((l) => /^flint: --ctx auto: 4096 tokens \(training context 4096; /.test(l))).toBe(true);
    } finally {
      stderr.mockRestore();
    }
    expect(JSON.parse(state.stdout.trim()).tokens).toBe(2);
  });
});
