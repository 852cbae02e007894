// `flint serve --spec auto` with a DFlash drafter: the n-gram assist rides along under the server's
// controller, kept across requests; output stays the target's own (greedy: equal to plain decoding).
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlintService } from "../../src/server/service.js";
import type { GenRequest } from "../../src/server/types.js";
import type { NgramAssist } from "../../src/spec/ngram-assist.js";
import { loadRuntime } from "../../src/spec/runtime.js";
import { streamRequest } from "../helpers/service-stream.js";

const SHARED = path.resolve(__dirname, "../../../shared/models");
const TARGET = path.join(SHARED, "code29m-q8_0.gguf");
const DRAFTER = path.join(SHARED, "code29m-dflash-3l.gguf");
const run = (s: FlintService, prompt: string, extra: Partial<GenRequest> = {}) => streamRequest(s, prompt, { maxTokens: 96, ...extra });

describe.runIf(existsSync(TARGET) && existsSync(DRAFTER))("flint serve --spec auto with the n-gram assist (trained pair)", () => {
  let s: FlintService;
  beforeAll(async () => {
    const rt = await loadRuntime({ modelPath: TARGET, draftPath: DRAFTER, spec: "auto", treeK: 1, gpuLayers: 0, ctx: 1024, threads: 1, flashAttn: "auto", sampling: "host", greedyOnly: false });
    s = new FlintService(rt, { modelId: "code29m", budget: "auto", ngramAssist: true, cacheSlots: 0 });
  });
  afterAll(() => s?.free());

  it("emits plain greedy output and verifies drafts across requests", async () => {
    let drafted = 0;
    let assisted = 0;
    // (the service keeps its assist private; its per-request stats say whether it verified)
    const assist = () => (s as unknown as { assist?: NgramAssist }).assist;
    expect(assist()).toBeDefined();
    for (const p of ["def fibonacci(n):\n", "for i in range(10):\n", "import os\nimport sys\n\ndef main():\n"]) {
      const plain = await run(s, p, { speculative: false });
      const spec = await run(s, p);
      expect(spec.text).toBe(plain.text);
      expect(spec.done.timings.spec?.drafter).toBe("dflash");
      drafted += spec.done.timings.spec?.draftTokens ?? 0;
      assisted += assist()!.stats.steps;
    }
    // this model repeats itself: the assist verifies repeats, and they count as drafted tokens
    expect(assisted).toBeGreaterThan(0);
    expect(drafted).toBeGreaterThan(assisted);
  });
});
