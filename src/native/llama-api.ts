// koffi declarations of the llama.h C API (llama.cpp de3ff81). Struct layouts mirror include/llama.h
// of that release field by field; a layout change upstream is caught by the default-value check in
// checkLayouts(). Pointers stay opaque (koffi externals) and never leave src/native/.
import koffi from "koffi";

/** An opaque native pointer. Only src/native/ creates or dereferences these. */
export type Ptr = unknown;

export const llama_model_params = koffi.struct("llama_model_params", {
  devices: "void *",
  tensor_buft_overrides: "void *",
  n_gpu_layers: "int32_t",
  split_mode: "int",
  load_mode: "int",
  lazy_mode: "int",
  main_gpu: "int32_t",
  tensor_split: "void *",
  progress_callback: "void *",
  progress_callback_user_data: "void *",
  kv_overrides: "void *",
  vocab_only: "bool",
  check_tensors: "bool",
  use_extra_bufts: "bool",
  no_host: "bool",
  no_alloc: "bool",
  load_mtp: "bool",
});

export interface ModelParams {
  devices: Ptr;
  tensor_buft_overrides: Ptr;
  n_gpu_layers: number;
  split_mode: number;
  load_mode: number;
  lazy_mode: number;
  main_gpu: number;
  tensor_split: Ptr;
  progress_callback: Ptr;
  progress_callback_user_data: Ptr;
  kv_overrides: Ptr;
  vocab_only: boolean;
  check_tensors: boolean;
  use_extra_bufts: boolean;
  no_host: boolean;
  no_alloc: boolean;
  load_mtp: boolean;
}

export const llama_context_params = koffi.struct("llama_context_params", {
  n_ctx: "uint32_t",
  n_batch: "uint32_t",
  n_ubatch: "uint32_t",
  n_seq_max: "uint32_t",
  n_rs_seq: "uint32_t",
  n_outputs_max: "uint32_t",
  n_outputs_max_per_seq: "uint32_t",
  n_threads: "int32_t",
  n_threads_batch: "int32_t",
  ctx_type: "int",
  rope_scaling_type: "int",
  pooling_type: "int",
  attention_type: "int",
  flash_attn_type: "int",
  rope_freq_base: "float",
  rope_freq_scale: "float",
  yarn_ext_factor: "float",
  yarn_attn_factor: "float",
  yarn_beta_fast: "float",
  yarn_beta_slow: "float",
  yarn_orig_ctx: "uint32_t",
  defrag_thold: "float",
  cb_eval: "void *",
  cb_eval_user_data: "void *",
  type_k: "int",
  type_v: "int",
  abort_callback: "void *",
  abort_callback_data: "void *",
  embeddings: "bool",
  offload_kqv: "bool",
  no_perf: "bool",
  op_offload: "bool",
  swa_full: "bool",
  kv_unified: "bool",
  samplers: "void *",
  n_samplers: "size_t",
  ctx_other: "void *",
});

export interface ContextParams {
  n_ctx: number;
  n_batch: number;
  n_ubatch: number;
  n_seq_max: number;
  n_rs_seq: number;
  n_outputs_max: number;
  n_outputs_max_per_seq: number;
  n_threads: number;
  n_threads_batch: number;
  ctx_type: number;
  rope_scaling_type: number;
  pooling_type: number;
  attention_type: number;
  flash_attn_type: number;
  rope_freq_base: number;
  rope_freq_scale: number;
  yarn_ext_factor: number;
  yarn_attn_factor: number;
  yarn_beta_fast: number;
  yarn_beta_slow: number;
  yarn_orig_ctx: number;
  defrag_thold: number;
  cb_eval: Ptr;
  cb_eval_user_data: Ptr;
  type_k: number;
  type_v: number;
  abort_callback: Ptr;
  abort_callback_data: Ptr;
  embeddings: boolean;
  offload_kqv: boolean;
  no_perf: boolean;
  op_offload: boolean;
  swa_full: boolean;
  kv_unified: boolean;
  samplers: Ptr;
  n_samplers: number;
  ctx_other: Ptr;
}

export const llama_batch = koffi.struct("llama_batch", {
  n_tokens: "int32_t",
  token: "void *",
  embd: "void *",
  pos: "void *",
  n_seq_id: "void *",
  seq_id: "void *",
  logits: "void *",
});

export interface BatchStruct {
  n_tokens: number;
  token: Ptr;
  embd: Ptr;
  pos: Ptr;
  n_seq_id: Ptr;
  seq_id: Ptr;
  logits: Ptr;
}

export const llama_model_quantize_params = koffi.struct("llama_model_quantize_params", {
  nthread: "int32_t",
  ftype: "int",
  output_tensor_type: "int",
  token_embedding_type: "int",
  allow_requantize: "bool",
  quantize_output_tensor: "bool",
  only_copy: "bool",
  pure: "bool",
  keep_split: "bool",
  dry_run: "bool",
  imatrix: "void *",
  kv_overrides: "void *",
  tt_overrides: "void *",
  prune_layers: "void *",
  max_buf_size: "size_t",
});

export interface QuantizeParams {
  nthread: number;
  ftype: number;
  output_tensor_type: number;
  token_embedding_type: number;
  allow_requantize: boolean;
  quantize_output_tensor: boolean;
  only_copy: boolean;
  pure: boolean;
  keep_split: boolean;
  dry_run: boolean;
  imatrix: Ptr;
  kv_overrides: Ptr;
  tt_overrides: Ptr;
  prune_layers: Ptr;
  max_buf_size: number;
}

export const llama_perf_context_data = koffi.struct("llama_perf_context_data", {
  t_start_ms: "double",
  t_load_ms: "double",
  t_p_eval_ms: "double",
  t_eval_ms: "double",
  n_p_eval: "int32_t",
  n_eval: "int32_t",
  n_reused: "int32_t",
});

export interface PerfContextData {
  t_start_ms: number;
  t_load_ms: number;
  t_p_eval_ms: number;
  t_eval_ms: number;
  n_p_eval: number;
  n_eval: number;
  n_reused: number;
}

export const llama_sampler_chain_params = koffi.struct("llama_sampler_chain_params", { no_perf: "bool" });

export const llama_sampler_seq_config = koffi.struct("llama_sampler_seq_config", {
  seq_id: "int32_t",
  sampler: "void *",
});

export const ggml_log_callback = koffi.proto("void ggml_log_callback(int level, const char *text, void *user_data)");

type F<A extends unknown[], R> = (...args: A) => R;

/** The llama.h functions flint uses, typed. `uaddr` variants return the address as a number. */
export interface LlamaApi {
  llama_backend_init: F<[], void>;
  llama_log_set: F<[Ptr, Ptr], void>;
  llama_print_system_info: F<[], string>;
  llama_supports_gpu_offload: F<[], boolean>;
  llama_max_devices: F<[], number>;
  llama_time_us: F<[], number>;
  llama_model_default_params: F<[], ModelParams>;
  llama_context_default_params: F<[], ContextParams>;
  llama_model_quantize_default_params: F<[], QuantizeParams>;
  llama_model_load_from_file: F<[string, ModelParams], Ptr>;
  llama_model_free: F<[Ptr], void>;
  llama_init_from_model: F<[Ptr, ContextParams], Ptr>;
  llama_free: F<[Ptr], void>;
  llama_n_ctx: F<[Ptr], number>;
  llama_n_ctx_seq: F<[Ptr], number>;
  llama_n_batch: F<[Ptr], number>;
  llama_n_ubatch: F<[Ptr], number>;
  llama_n_seq_max: F<[Ptr], number>;
  llama_n_rs_seq: F<[Ptr], number>;
  llama_get_model: F<[Ptr], Ptr>;
  llama_get_memory: F<[Ptr], Ptr>;
  llama_model_get_vocab: F<[Ptr], Ptr>;
  llama_model_n_ctx_train: F<[Ptr], number>;
  llama_model_n_embd: F<[Ptr], number>;
  llama_model_n_embd_inp: F<[Ptr], number>;
  llama_model_n_layer: F<[Ptr], number>;
  llama_model_n_head: F<[Ptr], number>;
  llama_model_n_head_kv: F<[Ptr], number>;
  llama_model_meta_val_str: F<[Ptr, string, Buffer, number], number>;
  llama_model_meta_count: F<[Ptr], number>;
  llama_model_meta_key_by_index: F<[Ptr, number, Buffer, number], number>;
  llama_model_meta_val_str_by_index: F<[Ptr, number, Buffer, number], number>;
  llama_model_desc: F<[Ptr, Buffer, number], number>;
  llama_model_size: F<[Ptr], number>;
  llama_model_n_params: F<[Ptr], number>;
  llama_model_ftype: F<[Ptr], number>;
  llama_ftype_name: F<[number], string>;
  llama_model_chat_template: F<[Ptr, string | null], string | null>;
  llama_model_has_encoder: F<[Ptr], boolean>;
  llama_model_is_recurrent: F<[Ptr], boolean>;
  llama_model_is_hybrid: F<[Ptr], boolean>;
  llama_model_quantize: F<[string, string, QuantizeParams], number>;
  llama_vocab_type: F<[Ptr], number>;
  llama_vocab_n_tokens: F<[Ptr], number>;
  llama_vocab_get_text: F<[Ptr, number], string>;
  llama_vocab_get_attr: F<[Ptr, number], number>;
  llama_vocab_is_eog: F<[Ptr, number], boolean>;
  llama_vocab_is_control: F<[Ptr, number], boolean>;
  llama_vocab_bos: F<[Ptr], number>;
  llama_vocab_eos: F<[Ptr], number>;
  llama_vocab_eot: F<[Ptr], number>;
  llama_vocab_nl: F<[Ptr], number>;
  llama_vocab_pad: F<[Ptr], number>;
  llama_vocab_mask: F<[Ptr], number>;
  llama_vocab_get_add_bos: F<[Ptr], boolean>;
  llama_vocab_get_add_eos: F<[Ptr], boolean>;
  llama_tokenize: F<[Ptr, Buffer, number, Int32Array, number, boolean, boolean], number>;
  llama_token_to_piece: F<[Ptr, number, Buffer, number, number, boolean], number>;
  llama_detokenize: F<[Ptr, Int32Array, number, Buffer, number, boolean, boolean], number>;
  llama_batch_init: F<[number, number, number], BatchStruct>;
  llama_batch_free: F<[BatchStruct], void>;
  llama_decode: F<[Ptr, BatchStruct], number> & { async: (ctx: Ptr, b: BatchStruct, cb: (err: unknown, rc: number) => void) => void };
  llama_encode: F<[Ptr, BatchStruct], number>;
  llama_set_n_threads: F<[Ptr, number, number], void>;
  llama_set_embeddings: F<[Ptr, boolean], void>;
  llama_set_causal_attn: F<[Ptr, boolean], void>;
  llama_synchronize: F<[Ptr], void>;
  llama_get_logits: F<[Ptr], Ptr>;
  llama_get_logits_ith: F<[Ptr, number], Ptr>;
  llama_get_embeddings: F<[Ptr], Ptr>;
  llama_get_embeddings_ith: F<[Ptr, number], Ptr>;
  /** same symbol as llama_get_logits, returning the address as a number (cheap change check) */
  uaddr_get_logits: F<[Ptr], number>;
  uaddr_get_embeddings: F<[Ptr], number>;
  llama_memory_clear: F<[Ptr, boolean], void>;
  llama_memory_seq_rm: F<[Ptr, number, number, number], boolean>;
  llama_memory_seq_cp: F<[Ptr, number, number, number, number], void>;
  llama_memory_seq_keep: F<[Ptr, number], void>;
  llama_memory_seq_add: F<[Ptr, number, number, number, number], void>;
  llama_memory_seq_pos_min: F<[Ptr, number], number>;
  llama_memory_seq_pos_max: F<[Ptr, number], number>;
  llama_memory_can_shift: F<[Ptr], boolean>;
  llama_state_seq_get_size: F<[Ptr, number], number>;
  llama_state_seq_get_data: F<[Ptr, Uint8Array, number, number], number>;
  llama_state_seq_set_data: F<[Ptr, Uint8Array, number, number], number>;
  llama_perf_context: F<[Ptr], PerfContextData>;
  llama_perf_context_reset: F<[Ptr], void>;
  llama_sampler_chain_init: F<[{ no_perf: boolean }], Ptr>;
  llama_sampler_chain_add: F<[Ptr, Ptr], void>;
  llama_sampler_init_greedy: F<[], Ptr>;
  llama_sampler_init_top_k: F<[number], Ptr>;
  uaddr_get_sampled_candidates_ith: F<[Ptr, number], number>;
  uaddr_get_sampled_logits_ith: F<[Ptr, number], number>;
  llama_get_sampled_candidates_count_ith: F<[Ptr, number], number>;
  llama_get_sampled_candidates_ith: F<[Ptr, number], Ptr>;
  llama_get_sampled_logits_ith: F<[Ptr, number], Ptr>;
  llama_sampler_free: F<[Ptr], void>;
  llama_get_sampled_token_ith: F<[Ptr, number], number>;
}

export function declareLlama(lib: koffi.IKoffiLib): LlamaApi {
  const d = (sig: string) => lib.func(sig);
  return {
    llama_backend_init: d("void llama_backend_init(void)"),
    llama_log_set: d("void llama_log_set(void *cb, void *user_data)"),
    llama_print_system_info: d("const char *llama_print_system_info(void)"),
    llama_supports_gpu_offload: d("bool llama_supports_gpu_offload(void)"),
    llama_max_devices: d("size_t llama_max_devices(void)"),
    llama_time_us: d("int64_t llama_time_us(void)"),
    llama_model_default_params: d("llama_model_params llama_model_default_params(void)"),
    llama_context_default_params: d("llama_context_params llama_context_default_params(void)"),
    llama_model_quantize_default_params: d("llama_model_quantize_params llama_model_quantize_default_params(void)"),
    llama_model_load_from_file: d("void *llama_model_load_from_file(const char *path, llama_model_params params)"),
    llama_model_free: d("void llama_model_free(void *model)"),
    llama_init_from_model: d("void *llama_init_from_model(void *model, llama_context_params params)"),
    llama_free: d("void llama_free(void *ctx)"),
    llama_n_ctx: d("uint32_t llama_n_ctx(void *ctx)"),
    llama_n_ctx_seq: d("uint32_t llama_n_ctx_seq(void *ctx)"),
    llama_n_batch: d("uint32_t llama_n_batch(void *ctx)"),
    llama_n_ubatch: d("uint32_t llama_n_ubatch(void *ctx)"),
    llama_n_seq_max: d("uint32_t llama_n_seq_max(void *ctx)"),
    llama_n_rs_seq: d("uint32_t llama_n_rs_seq(void *ctx)"),
    llama_get_model: d("void *llama_get_model(void *ctx)"),
    llama_get_memory: d("void *llama_get_memory(void *ctx)"),
    llama_model_get_vocab: d("void *llama_model_get_vocab(void *model)"),
    llama_model_n_ctx_train: d("int32_t llama_model_n_ctx_train(void *model)"),
    llama_model_n_embd: d("int32_t llama_model_n_embd(void *model)"),
    llama_model_n_embd_inp: d("int32_t llama_model_n_embd_inp(void *model)"),
    llama_model_n_layer: d("int32_t llama_model_n_layer(void *model)"),
    llama_model_n_head: d("int32_t llama_model_n_head(void *model)"),
    llama_model_n_head_kv: d("int32_t llama_model_n_head_kv(void *model)"),
    llama_model_meta_val_str: d("int32_t llama_model_meta_val_str(void *model, const char *key, uint8_t *buf, size_t size)"),
    llama_model_meta_count: d("int32_t llama_model_meta_count(void *model)"),
    llama_model_meta_key_by_index: d("int32_t llama_model_meta_key_by_index(void *model, int32_t i, uint8_t *buf, size_t size)"),
    llama_model_meta_val_str_by_index: d("int32_t llama_model_meta_val_str_by_index(void *model, int32_t i, uint8_t *buf, size_t size)"),
    llama_model_desc: d("int32_t llama_model_desc(void *model, uint8_t *buf, size_t size)"),
    llama_model_size: d("uint64_t llama_model_size(void *model)"),
    llama_model_n_params: d("uint64_t llama_model_n_params(void *model)"),
    llama_model_ftype: d("int llama_model_ftype(void *model)"),
    llama_ftype_name: d("const char *llama_ftype_name(int ftype)"),
    llama_model_chat_template: d("const char *llama_model_chat_template(void *model, const char *name)"),
    llama_model_has_encoder: d("bool llama_model_has_encoder(void *model)"),
    llama_model_is_recurrent: d("bool llama_model_is_recurrent(void *model)"),
    llama_model_is_hybrid: d("bool llama_model_is_hybrid(void *model)"),
    llama_model_quantize: d("uint32_t llama_model_quantize(const char *inp, const char *out, const llama_model_quantize_params *params)"),
    llama_vocab_type: d("int llama_vocab_type(void *vocab)"),
    llama_vocab_n_tokens: d("int32_t llama_vocab_n_tokens(void *vocab)"),
    llama_vocab_get_text: d("const char *llama_vocab_get_text(void *vocab, int32_t token)"),
    llama_vocab_get_attr: d("int llama_vocab_get_attr(void *vocab, int32_t token)"),
    llama_vocab_is_eog: d("bool llama_vocab_is_eog(void *vocab, int32_t token)"),
    llama_vocab_is_control: d("bool llama_vocab_is_control(void *vocab, int32_t token)"),
    llama_vocab_bos: d("int32_t llama_vocab_bos(void *vocab)"),
    llama_vocab_eos: d("int32_t llama_vocab_eos(void *vocab)"),
    llama_vocab_eot: d("int32_t llama_vocab_eot(void *vocab)"),
    llama_vocab_nl: d("int32_t llama_vocab_nl(void *vocab)"),
    llama_vocab_pad: d("int32_t llama_vocab_pad(void *vocab)"),
    llama_vocab_mask: d("int32_t llama_vocab_mask(void *vocab)"),
    llama_vocab_get_add_bos: d("bool llama_vocab_get_add_bos(void *vocab)"),
    llama_vocab_get_add_eos: d("bool llama_vocab_get_add_eos(void *vocab)"),
    llama_tokenize: d("int32_t llama_tokenize(void *vocab, const uint8_t *text, int32_t text_len, int32_t *tokens, int32_t n_max, bool add_special, bool parse_special)"),
    llama_token_to_piece: d("int32_t llama_token_to_piece(void *vocab, int32_t token, uint8_t *buf, int32_t length, int32_t lstrip, bool special)"),
    llama_detokenize: d("int32_t llama_detokenize(void *vocab, const int32_t *tokens, int32_t n_tokens, uint8_t *text, int32_t max, bool remove_special, bool unparse_special)"),
    llama_batch_init: d("llama_batch llama_batch_init(int32_t n_tokens, int32_t embd, int32_t n_seq_max)"),
    llama_batch_free: d("void llama_batch_free(llama_batch batch)"),
    llama_decode: d("int32_t llama_decode(void *ctx, llama_batch batch)") as LlamaApi["llama_decode"],
    llama_encode: d("int32_t llama_encode(void *ctx, llama_batch batch)"),
    llama_set_n_threads: d("void llama_set_n_threads(void *ctx, int32_t n_threads, int32_t n_threads_batch)"),
    llama_set_embeddings: d("void llama_set_embeddings(void *ctx, bool embeddings)"),
    llama_set_causal_attn: d("void llama_set_causal_attn(void *ctx, bool causal)"),
    llama_synchronize: d("void llama_synchronize(void *ctx)"),
    llama_get_logits: d("void *llama_get_logits(void *ctx)"),
    llama_get_logits_ith: d("void *llama_get_logits_ith(void *ctx, int32_t i)"),
    llama_get_embeddings: d("void *llama_get_embeddings(void *ctx)"),
    llama_get_embeddings_ith: d("void *llama_get_embeddings_ith(void *ctx, int32_t i)"),
    uaddr_get_logits: lib.func("llama_get_logits", "uintptr_t", ["void *"]),
    uaddr_get_embeddings: lib.func("llama_get_embeddings", "uintptr_t", ["void *"]),
    llama_memory_clear: d("void llama_memory_clear(void *mem, bool data)"),
    llama_memory_seq_rm: d("bool llama_memory_seq_rm(void *mem, int32_t seq, int32_t p0, int32_t p1)"),
    llama_memory_seq_cp: d("void llama_memory_seq_cp(void *mem, int32_t src, int32_t dst, int32_t p0, int32_t p1)"),
    llama_memory_seq_keep: d("void llama_memory_seq_keep(void *mem, int32_t seq)"),
    llama_memory_seq_add: d("void llama_memory_seq_add(void *mem, int32_t seq, int32_t p0, int32_t p1, int32_t delta)"),
    llama_memory_seq_pos_min: d("int32_t llama_memory_seq_pos_min(void *mem, int32_t seq)"),
    llama_memory_seq_pos_max: d("int32_t llama_memory_seq_pos_max(void *mem, int32_t seq)"),
    llama_memory_can_shift: d("bool llama_memory_can_shift(void *mem)"),
    llama_state_seq_get_size: d("size_t llama_state_seq_get_size(void *ctx, int32_t seq)"),
    llama_state_seq_get_data: d("size_t llama_state_seq_get_data(void *ctx, uint8_t *dst, size_t size, int32_t seq)"),
    llama_state_seq_set_data: d("size_t llama_state_seq_set_data(void *ctx, const uint8_t *src, size_t size, int32_t seq)"),
    llama_perf_context: d("llama_perf_context_data llama_perf_context(void *ctx)"),
    llama_perf_context_reset: d("void llama_perf_context_reset(void *ctx)"),
    llama_sampler_chain_init: d("void *llama_sampler_chain_init(llama_sampler_chain_params params)"),
    llama_sampler_chain_add: d("void llama_sampler_chain_add(void *chain, void *smpl)"),
    llama_sampler_init_greedy: d("void *llama_sampler_init_greedy(void)"),
    llama_sampler_init_top_k: d("void *llama_sampler_init_top_k(int32_t k)"),
    uaddr_get_sampled_candidates_ith: lib.func("llama_get_sampled_candidates_ith", "uintptr_t", ["void *", "int32_t"]),
    uaddr_get_sampled_logits_ith: lib.func("llama_get_sampled_logits_ith", "uintptr_t", ["void *", "int32_t"]),
    llama_get_sampled_candidates_count_ith: d("uint32_t llama_get_sampled_candidates_count_ith(void *ctx, int32_t i)"),
    llama_get_sampled_candidates_ith: d("void *llama_get_sampled_candidates_ith(void *ctx, int32_t i)"),
    llama_get_sampled_logits_ith: d("void *llama_get_sampled_logits_ith(void *ctx, int32_t i)"),
    llama_sampler_free: d("void llama_sampler_free(void *smpl)"),
    llama_get_sampled_token_ith: d("int32_t llama_get_sampled_token_ith(void *ctx, int32_t i)"),
  } as LlamaApi;
}
