// Does a drafter (or PFlash scorer) fit a target? Checked on inspectModel results, before anything
// is loaded, so a mismatch is one clear sentence instead of an abort inside llama.cpp.
//   vocabulary: the same tokens. Equal hashes settle it; otherwise, with token lists at hand, the
//     rule of llama.cpp's common_speculative_are_compatible (sizes within 128 of each other, equal
//     strings over the shared ids). A DFlash drafter borrows the target's embeddings and LM head, so
//     its vocabulary must be the target's exactly. BOS/EOS ids must agree.
//   dflash: every dflash.target_layers id is a layer of the target (< its block count; these are
//     layer INPUTS captured by llama_set_embeddings_layer_inp), and the hidden sizes are equal
//     (fc.weight reads n_target_layers x n_embd of target features).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ModelInfo } from "./inspect.js";

export const PAIR_KINDS = ["dflash", "draft-model", "scorer"] as const;
export type PairKind = (typeof PAIR_KINDS)[number];

/** llama.cpp's SPEC_VOCAB_MAX_SIZE_DIFFERENCE */
export const MAX_VOCAB_SIZE_DIFFERENCE = 128;

export interface PairCheck {
  ok: boolean;
  kind: PairKind;
  target: string;
  draft: string;
  /** each a reason the pair cannot work */
  errors: string[];
  warnings: string[];
  /** facts that were checked and hold */
  notes: string[];
}

type Info = Pick<
  ModelInfo,
  "path" | "architecture" | "layers" | "embd" | "vocabSize" | "vocabHash" | "tokenizerModel" | "bosTokenId" | "eosTokenId" | "addBos" | "dflash" | "parameterCount" | "layerKinds" | "contextLength" | "tokens"
>;

export function defaultPairKind(draft: Pick<ModelInfo, "architecture">): PairKind {
  return draft.architecture === "dflash" ? "dflash" : "draft-model";
}

export function checkPair(target: Info, draft: Info, kind: PairKind): PairCheck {
  const r: PairCheck = { ok: false, kind, target: target.path, draft: draft.path, errors: [], warnings: [], notes: [] };
  const role = kind === "scorer" ? "scorer" : "drafter";
  if (target.architecture === "dflash") r.errors.push(`the target ${target.path} is itself a DFlash drafter; give the model it drafts for`);

  checkVocab(target, draft, kind, role, r);

  if (kind === "dflash") {
    if (draft.architecture !== "dflash" || !draft.dflash) {
      r.errors.push(`${draft.path} is not a DFlash drafter (architecture ${draft.architecture}); use --kind draft-model for an ordinary small model`);
    } else {
      const ids = draft.dflash.targetLayers;
      if (ids.length === 0) r.errors.push(`the drafter lists no dflash.target_layers`);
      if (target.layers === undefined) {
        r.errors.push(`the target has no ${target.architecture}.block_count; cannot check dflash.target_layers`);
      } else {
        const bad = ids.filter((id) => !Number.isInteger(id) || id < 0 || id >= target.layers!);
        if (bad.length) {
          r.errors.push(`the drafter reads target layers [${ids.join(", ")}], but ${bad.join(", ")} ${bad.length > 1 ? "are" : "is"} not a layer of the target (it has ${target.layers}: 0..${target.layers - 1}); this drafter was made for a deeper model`);
        } else if (ids.length) {
          r.notes.push(`target layers [${ids.join(", ")}] exist in the target (${target.layers} layers)`);
        }
      }
      if (draft.embd !== target.embd) {
        r.errors.push(`hidden size differs: drafter ${draft.embd ?? "?"}, target ${target.embd ?? "?"}; a DFlash drafter reads the target's hidden states, so they must be equal`);
      } else {
        r.notes.push(`hidden size ${target.embd} matches`);
      }
      const mask = draft.dflash.maskTokenId;
      if (mask === undefined) r.warnings.push(`the drafter has no tokenizer.ggml.mask_token_id; llama.cpp will refuse it`);
      else if (draft.vocabSize !== undefined && mask >= draft.vocabSize) r.errors.push(`mask token ${mask} is outside the vocabulary (${draft.vocabSize})`);
      if (draft.dflash.blockSize === undefined) r.warnings.push(`no dflash.block_size; llama.cpp assumes 16`);
    }
    if ((target.layerKinds?.recurrent ?? 0) > 0) {
      r.notes.push(`the target has recurrent layers: drafts are verified as chains (n_rs_seq rollback), not trees`);
    }
  } else {
    if (draft.architecture === "dflash") r.errors.push(`${draft.path} is a DFlash drafter; check it with --kind dflash`);
    if (kind === "draft-model" && draft.parameterCount >= target.parameterCount) {
      r.warnings.push(`the draft model (${draft.parameterCount.toLocaleString("en-US")} params) is not smaller than the target (${target.parameterCount.toLocaleString("en-US")}); it cannot speed it up`);
    }
    if (kind === "scorer") {
      if ((draft.layerKinds?.recurrent ?? 0) > 0) r.errors.push(`the scorer has recurrent layers; PFlash scores prompts by attention weights, so every layer must be attention`);
      if (draft.contextLength !== undefined && target.contextLength !== undefined && draft.contextLength < target.contextLength) {
        r.warnings.push(`the scorer's training context (${draft.contextLength}) is shorter than the target's (${target.contextLength}); prompts beyond it are scored out of distribution`);
      }
    }
  }
  r.ok = r.errors.length === 0;
  return r;
}

function checkVocab(t: Info, d: Info, kind: PairKind, role: string, r: PairCheck): void {
  if (t.vocabSize === undefined || d.vocabSize === undefined) {
    r.errors.push(`${t.vocabSize === undefined ? "the target" : `the ${role}`} has no vocabulary (tokenizer.ggml.tokens); cannot check compatibility`);
    return;
  }
  if (t.tokenizerModel && d.tokenizerModel && t.tokenizerModel !== d.tokenizerModel) {
    r.errors.push(`vocabulary types differ: target ${t.tokenizerModel}, ${role} ${d.tokenizerModel}`);
    return;
  }
  for (const [name, a, b] of [["BOS", t.bosTokenId, d.bosTokenId], ["EOS", t.eosTokenId, d.eosTokenId]] as const) {
    if (a !== undefined && b !== undefined && a !== b) r.errors.push(`${name} token ids differ: target ${a}, ${role} ${b}`);
  }
  if (t.addBos !== undefined && d.addBos !== undefined && t.addBos !== d.addBos) r.errors.push(`the target ${t.addBos ? "adds" : "does not add"} a BOS token and the ${role} ${d.addBos ? "does" : "does not"}`);

  if (t.vocabHash && t.vocabHash === d.vocabHash) {
    r.notes.push(`same vocabulary (${t.vocabSize} tokens, hash ${t.vocabHash})`);
    return;
  }
  const sizes = `target ${t.vocabSize} tokens, ${role} ${d.vocabSize}`;
  if (kind === "dflash" && t.vocabSize !== d.vocabSize) {
    r.errors.push(`vocabulary sizes differ (${sizes}); a DFlash drafter uses the target's embeddings and output head, so they must be equal`);
    return;
  }
  const diff = Math.abs(t.vocabSize - d.vocabSize);
  if (diff > MAX_VOCAB_SIZE_DIFFERENCE) {
    r.errors.push(`vocabulary sizes differ by ${diff} (${sizes}); at most ${MAX_VOCAB_SIZE_DIFFERENCE} (padding) is compatible`);
    return;
  }
  if (!t.tokens || !d.tokens) {
    r.errors.push(`vocabularies differ (${sizes}; hash ${t.vocabHash ?? "?"} vs ${d.vocabHash ?? "?"}) and the token lists were not read, so the shared ids cannot be compared`);
    return;
  }
  const n = Math.min(t.tokens.length, d.tokens.length);
  for (let i = 0; i < n; i++) {
    if (t.tokens[i] !== d.tokens[i]) {
      r.errors.push(`token ${i} differs: target ${JSON.stringify(t.tokens[i])}, ${role} ${JSON.stringify(d.tokens[i])}; the vocabularies are not the same`);
      return;
    }
  }
  if (kind === "dflash") r.errors.push(`vocabulary hashes differ (${t.vocabHash} vs ${d.vocabHash}) although the tokens agree; metadata mismatch`);
  else r.notes.push(`the shared ${n} tokens are identical; sizes differ by ${diff} (padding): compatible`);
}

export function formatPairCheck(c: PairCheck): string {
  const lines = [`${c.ok ? "compatible" : "NOT compatible"} as ${c.kind}: ${c.draft} -> ${c.target}`];
  for (const e of c.errors) lines.push(`  error: ${e}`);
  for (const w of c.warnings) lines.push(`  warning: ${w}`);
  for (const n of c.notes) lines.push(`  ok: ${n}`);
  return lines.join("\n");
}

export interface DrafterEntry {
  targets: string[];
  kind: PairKind;
  repo: string;
  format: "gguf" | "safetensors";
  example?: boolean;
  note?: string;
}

const DRAFTERS_FILE = fileURLToPath(new URL("../../data/drafters.json", import.meta.url));
let table: DrafterEntry[] | undefined;

export function drafterTable(file = DRAFTERS_FILE): DrafterEntry[] {
  if (file === DRAFTERS_FILE && table) return table;
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { drafters: DrafterEntry[] };
  if (file === DRAFTERS_FILE) table = parsed.drafters;
  return parsed.drafters;
}

/** "Qwen/Qwen3-8B-GGUF", "bartowski/Qwen_Qwen3-8B-GGUF", "unsloth/Qwen3-8B-GGUF" -> "qwen3-8b". */
export function targetKey(repo: string): string {
  let name = (repo.split("/").pop() ?? repo).replace(/[-_.]gguf$/i, "");
  const us = name.indexOf("_");
  if (us > 0 && !name.slice(0, us).includes("-")) name = name.slice(us + 1);
  return name.toLowerCase();
}

/** Known drafters and scorers for a target repo (by its name). */
export function suggestDrafters(repo: string, entries = drafterTable()): DrafterEntry[] {
  const key = targetKey(repo);
  return entries.filter((e) => e.targets.some((t) => t.toLowerCase() === key));
}

export function formatSuggestion(e: DrafterEntry): string {
  const how = e.format === "gguf" ? `flint pull hf:${e.repo}` : `safetensors: convert with llama.cpp's convert_hf_to_gguf.py --target-model-dir <target>`;
  return `${e.kind.padEnd(11)} ${e.repo}${e.example ? " (example, unverified)" : ""}: ${how}${e.note ? `; ${e.note}` : ""}`;
}
