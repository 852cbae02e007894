// A qwen3 scorer whose vocabulary differs from the test target's: the same byte-level BPE cut to
// its first 300 merges, so the same text splits into more, different tokens.
import path from "node:path";
import { buildQwen3, qwen3Preset, toSources, type TensorPlan } from "../../src/models/arch-qwen3.js";
import { kv, writeGguf } from "../../src/models/gguf-writer.js";
import { buildModelVocab, loadBpeVocab, tokenizerMetadata } from "../../src/models/vocab.js";
import { testModelDir } from "../helpers/models.js";

let otherVocab: Promise<string> | undefined;

export function otherVocabScorerPath(): Promise<string> {
  otherVocab ??= (async () => {
    const out = path.join(testModelDir, "scorer-other-vocab.gguf");
    const bpe = loadBpeVocab();
    const merges = 300;
    const vocab = buildModelVocab(undefined, { tokens: bpe.tokens.slice(0, 256 + merges), merges: bpe.merges.slice(0, merges) });
    const nV = vocab.tokens.length;
    const b = buildQwen3({ shape: qwen3Preset("tiny"), wtype: "f16", name: "scorer-other-vocab" });
    const metadata = [
      ...b.metadata.filter(([k]) => !k.startsWith("tokenizer.") && k !== "qwen3.vocab_size"),
      ...tokenizerMetadata(vocab),
      ["qwen3.vocab_size", kv.u32(nV)] as const,
    ];
    const tensors: TensorPlan[] = b.tensors.map((t) =>
      t.name === "token_embd.weight" || t.name === "output.weight" ? { ...t, shape: [t.shape[0], nV], init: { std: "std" in t.init ? t.init.std : 1 } } : t,
    );
    await writeGguf(out, { metadata, tensors: toSources(tensors, 11) });
    return out;
  })();
  return otherVocab;
}
