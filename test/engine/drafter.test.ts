// A DFlash drafter loads as a draft context that borrows its target's context (ctx_other), and the
// llama-ext.h symbols report the target layers it is conditioned on.
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import path from "node:path";
import { Context } from "../../src/engine/context.js";
import { Model } from "../../src/engine/model.js";
import { useTinyPair } from "../helpers/models.js";

describe("dflash drafter", () => {
  const pair = useTinyPair();

  it("reports its architecture, block size and target layers", () => {
    expect(pair.draft.info.architecture).toBe("dflash");
    expect(Number(pair.draft.meta("dflash.block_size"))).toBe(16);
    const ids = Array.from(pair.draft.native.targetLayerIds());
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toBeLessThan(pair.target.info.nLayer);
    expect(pair.target.native.targetLayerIds().length).toBe(0);
  });

  it("creates a draft context against the target context", () => {
    const tctx = Context.create(pair.target, { ctx: 256, threads: 1 });
    try {
      const dctx = Context.create(pair.draft, { ctx: 256, threads: 1, other: tctx });
      expect(dctx.nCtx).toBe(256);
      dctx.free();
    } finally {
      tctx.free();
    }
  });
});

const shared = path.resolve(__dirname, "../../../shared/models");
describe.runIf(existsSync(path.join(shared, "code29m-dflash-3l.gguf")))("trained pair in ../shared/models", () => {
  it("loads the drafter against the code model", () => {
    const t = Model.load(path.join(shared, "code29m-q8_0.gguf"), { gpuLayers: 0 });
    const d = Model.load(path.join(shared, "code29m-dflash-3l.gguf"), { gpuLayers: 0 });
    const tctx = Context.create(t, { ctx: 256, threads: 1 });
    const dctx = Context.create(d, { ctx: 256, threads: 1, other: tctx });
    try {
      expect(Array.from(d.native.targetLayerIds())).toEqual([2, 4, 6]);
      expect(d.info.nEmbd).toBe(t.info.nEmbd);
    } finally {
      dctx.free();
      tctx.free();
      d.free();
      t.free();
    }
  });
});
