// The service's prefix cache on the engine: host-slot restore with drafters that keep state (DFlash
// on the trained pair, real acceptance; a draft model), where the drafter's own KV must come back with
// the target's or its drafts get worse; and recurrent (hybrid) targets, which reuse whole histories only.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlintService } from "../../src/server/service.js";
import type { GenRequest } from "../../src/server/types.js";
import { makeModel } from "../../src/models/make-model.js";
import { loadRuntime } from "../../src/spec/runtime.js";
import { testModelDir } from "../helpers/models.js";
import { streamRequest } from "../helpers/service-stream.js";

const SHARED = path.resolve(__dirname, "../../../shared/models");
const TARGET = path.join(SHARED, "code29m-q8_0.gguf");
const DRAFTER = path.join(SHARED, "code29m-dflash-3l.gguf");

const A = `import os\nimport sys\n\n\ndef read_config(path):\n    """Read a key=value config file into a dict."""\n    config = {}\n    with open(path) as f:\n        for line in f:\n            line = line.strip()\n            if not line or line.startswith("#"):\n                continue\n            key, value = line.split("=", 1)\n            config[key.strip()] = value.strip()\n    return config\n\n\ndef main():\n    `;
const B = `class Node:\n    def __init__(self, value, left=None, right=None):\n        self.value = value\n        self.left = left\n        self.right = right\n\n\ndef insert(root, value):\n    if root is None:\n        return Node(value)\n    if value < root.value:\n        root.left = insert(root.left, value)\n    else:\n        root.right = insert(root.right, value)\n    return root\n\n\ndef inorder(root):\n    `;

async function run(s: FlintService, prompt: string | number[], extra: Partial<GenRequest> = {}) {
  const { text, done } = await streamRequest(s, prompt, extra);
  return { text, done, al: done.timings.spec?.meanAcceptedLength ?? 0, accepted: done.timings.spec?.acceptedTokens ?? 0 };
}

/** Runs A, A, B, B, A, B: the restored A and B must match A and B continued from the live sequence. */
async function alternate(s: FlintService, a: string, b: string): Promise<void> {
  const a1 = await run(s, a);
  const aLive = await run(s, a);
  expect(aLive.done.usage.cachedTokens).toBe(a1.done.usage.promptTokens - 1);
  const b1 = await run(s, b);
  expect(b1.done.usage.cachedTokens).toBe(0);
  const bLive = await run(s, b);
  expect(s.state.slots).toBe(1);
  const a2 = await run(s, a);
  expect(a2.done.usage.cachedTokens).toBe(a1.done.usage.promptTokens - 1);
  expect(a2.text).toBe(aLive.text);
  expect([a2.al, a2.accepted]).toEqual([aLive.al, aLive.accepted]);
  const b2 = await run(s, b);
  expect(b2.done.usage.cachedTokens).toBe(b1.done.usage.promptTokens - 1);
  expect(b2.text).toBe(bLive.text);
  expect([b2.al, b2.accepted]).toEqual([bLive.al, bLive.accepted]);
}

describe.runIf(existsSync(TARGET) && existsSync(DRAFTER))("prefix cache with a DFlash drafter (trained pair)", () => {
  let s: FlintService;
  beforeAll(async () => {
    const rt = await loadRuntime({ modelPath: TARGET, draftPath: DRAFTER, spec: "dflash", treeK: 1, gpuLayers: 0, ctx: 1024, threads: 1, flashAttn: "auto", sampling: "host", greedyOnly: false });
    s = new FlintService(rt, { modelId: "code29m", budget: 15 });
  });
  afterAll(() => s?.free());

  // A run from a cached prefix decodes the last prompt token alone, and its features differ from a
  // whole-prompt prefill's in the last bits, so drafts may differ at a near tie from a cold run's (on
  // this pair: B's mean accepted length 3.92 cold, 4.27 warm). A restored conversation is therefore
  // compared with the same conversation continued from the live sequence: that must match exactly.
  it("restores the drafter's state with the target's: A, B, A drafts exactly as A continued live", async () => {
    const a1 = await run(s, A);
    // the pair really drafts: otherwise this test could not tell a restored drafter from a lost one
    expect(a1.al).toBeGreaterThan(1.5);
    await alternate(s, A, B);
  });

  it("reuses no more than the drafter holds after a request that did not speculate", async () => {
    const x = s.tokenize(A, { special: true });
    const y = [...x, ...s.tokenize("config = read_config(sys.argv[1])\n    ")];
    const z = [...y, ...s.tokenize("if config:\n        ")];
    await run(s, x);
    // the target reuses x; the drafter does not see y's new tokens
    const plain = await run(s, y, { speculative: false });
    expect(plain.done.usage.cachedTokens).toBe(x.length);
    expect(plain.done.timings.spec).toBeUndefined();
    // the target holds all of y, the drafter only x: a speculative request reuses x
    const next = await run(s, z);
    expect(next.done.usage.cachedTokens).toBe(x.length);
    expect(next.al).toBeGreaterThan(1);
  });
});

// a random model is never confident enough to draft (the drafter stops below p = 0.3): the trained
// target drafts for itself instead
describe.runIf(existsSync(TARGET))("prefix cache with a draft-model drafter (the trained model drafting for itself)", () => {
  let s: FlintService;
  beforeAll(async () => {
    const rt = await loadRuntime({ modelPath: TARGET, draftPath: TARGET, spec: "draft-model", treeK: 1, gpuLayers: 0, ctx: 1024, threads: 1, flashAttn: "auto", sampling: "host", greedyOnly: false });
    s = new FlintService(rt, { modelId: "code29m", budget: 4 });
  });
  afterAll(() => s?.free());

  it("restores the draft model's KV with the target's", async () => {
    const first = await run(s, A);
    expect(first.al).toBeGreaterThan(2);
    await alternate(s, A, B);
  });
});

describe("prefix cache on a hybrid target (qwen35: Gated DeltaNet + attention)", () => {
  let s: FlintService;
  beforeAll(async () => {
    const file = path.join(testModelDir, "tiny-qwen35-server.gguf");
    await makeModel({ arch: "qwen35", preset: "tiny", seed: 3, out: file });
    const rt = await loadRuntime({ modelPath: file, spec: "ngram", treeK: 1, gpuLayers: 0, ctx: 1024, threads: 1, flashAttn: "auto", sampling: "host", greedyOnly: false });
    s = new FlintService(rt, { modelId: "q35", budget: 4, cacheSlots: 0 });
  });
  afterAll(() => s?.free());

  it("reuses a history the prompt extends and prefills a cut one from scratch", async () => {
    const x = s.tokenize("def fibonacci(n):\n    if n < 2:\n", { special: true });
    const cold = await run(s, x);
    const live = (s as unknown as { live: Int32Array }).live;
    expect(live.length).toBeGreaterThan(x.length);
    const more = s.tokenize("        return n\n");
    const long = [...live, ...more];
    const extended = await run(s, long);
    expect(extended.done.usage.cachedTokens).toBe(live.length);
    // the same prompt again would need the state one token back: not reusable, prefilled whole
    const again = await run(s, x);
    expect(again.done.usage.cachedTokens).toBe(0);
    expect(again.text).toBe(cold.text);
    // and the continued state gave what a cold prefill of the whole prompt gives
    await run(s, s.tokenize("class Stack:\n", { special: true }));
    const coldLong = await run(s, long);
    expect(coldLong.done.usage.cachedTokens).toBe(0);
    expect(coldLong.text).toBe(extended.text);
  });
});
