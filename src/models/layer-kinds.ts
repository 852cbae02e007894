// Which layers of a model keep a KV cache (attention) and which a recurrent state, from GGUF
// metadata, with llama.cpp's (de3ff81) rules: `<arch>.attention.recurrent_layers` (one flag per
// layer) when present; else for the interval hybrids, layer i is recurrent unless
// (i + 1) % `<arch>.full_attention_interval` == 0 (default 4, minimax-01: 8), trailing MTP
// (nextn) layers being attention; the pure recurrent archs are recurrent everywhere.

const INTERVAL_DEFAULT: Record<string, number> = { qwen3next: 4, qwen35: 4, qwen35moe: 4, qwen4exp: 4, "minimax-01": 8 };
const RECURRENT = new Set(["mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"]);
// hybrids whose layer pattern comes from per-arch hparams flint does not model yet
const OTHER_HYBRIDS = new Set(["jamba", "falcon-h1", "plamo2", "granitehybrid", "lfm2", "lfm2moe", "nemotron_h", "nemotron_h_moe", "kimi-linear", "bailingmoe3", "kimi-k3", "deepseek4"]);

export interface LayerKinds {
  attention: number;
  recurrent: number;
  /** recurrent layer ids, when the model mixes both kinds */
  recurrentIds?: number[];
  /** where the answer came from */
  rule: string;
  /** false when flint cannot tell (a hybrid without the metadata above) */
  known: boolean;
}

export interface LayerMeta {
  arch: string;
  /** block_count (including MTP layers) */
  layers: number;
  /** nextn_predict_layers: trailing MTP blocks */
  nextn?: number;
  recurrentFlags?: unknown[];
  fullAttentionInterval?: number;
}

export function layerKinds(m: LayerMeta): LayerKinds {
  const n = m.layers;
  const trunk = n - (m.nextn ?? 0);
  const fromFlags = (flags: boolean[], rule: string): LayerKinds => {
    const ids = flags.flatMap((r, i) => (r ? [i] : []));
    const mixed = ids.length > 0 && ids.length < n;
    return { attention: n - ids.length, recurrent: ids.length, ...(mixed ? { recurrentIds: ids } : {}), rule, known: true };
  };
  if (Array.isArray(m.recurrentFlags) && m.recurrentFlags.length > 0) {
    const flags = Array.from({ length: n }, (_, i) => !!m.recurrentFlags![i] && m.recurrentFlags![i] !== 0);
    return fromFlags(flags, `${m.arch}.attention.recurrent_layers`);
  }
  const interval = m.fullAttentionInterval ?? INTERVAL_DEFAULT[m.arch];
  if (interval !== undefined) {
    if (!Number.isInteger(interval) || interval < 1) return { attention: n, recurrent: 0, rule: `bad ${m.arch}.full_attention_interval ${interval}`, known: false };
    const flags = Array.from({ length: n }, (_, i) => i < trunk && (i + 1) % interval !== 0);
    const src = m.fullAttentionInterval !== undefined ? `${m.arch}.full_attention_interval = ${interval}` : `${m.arch} default interval ${interval}`;
    return fromFlags(flags, `every ${ordinal(interval)}layer is attention (${src})`);
  }
  if (RECURRENT.has(m.arch)) return { attention: 0, recurrent: n, rule: `${m.arch} is recurrent`, known: true };
  if (OTHER_HYBRIDS.has(m.arch)) return { attention: n, recurrent: 0, rule: `${m.arch} is a hybrid; its layer pattern is not read by flint (counted as attention)`, known: false };
  return { attention: n, recurrent: 0, rule: "all attention", known: true };
}

function ordinal(k: number): string {
  if (k === 1) return "";
  const s = k % 100 >= 11 && k % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][k % 10] ?? "th");
  return `${k}${s} `;
}

/** Conv + SSM state per layer and sequence in f32 elements (llama_hparams::n_embd_r + n_embd_s), Mamba-style layers. */
export function ssmStateElems(s: { convKernel?: number; innerSize?: number; stateSize?: number; groupCount?: number }): number | undefined {
  if (!s.innerSize || !s.stateSize) return undefined;
  const conv = (s.convKernel && s.convKernel > 0 ? s.convKernel - 1 : 0) * (s.innerSize + 2 * (s.groupCount ?? 0) * s.stateSize);
  return conv + s.stateSize * s.innerSize;
}
