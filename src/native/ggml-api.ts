// koffi declarations of the ggml / ggml-backend / gguf entry points flint uses: device discovery
// now, and PFlash's own scorer graph later (tensors, ops, graphs, backend buffers, gguf reading).
// ggml_backend_cpu_init is not exported by dynamic-backend builds, so backends are created by type.
import koffi from "koffi";
import type { Ptr } from "./llama-api.js";

export const ggml_init_params = koffi.struct("ggml_init_params", {
  mem_size: "size_t",
  mem_buffer: "void *",
  no_alloc: "bool",
});

export const gguf_init_params = koffi.struct("gguf_init_params", {
  no_alloc: "bool",
  ctx: "void *",
});

export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, Q6_K: 14, I32: 26, I64: 27, BF16: 30 } as const;
export const GGML_PREC_F32 = 10;
export const GGML_OP_POOL = { MAX: 0, AVG: 1 } as const;
export const BACKEND_BUFFER_USAGE = { ANY: 0, WEIGHTS: 1, COMPUTE: 2 } as const;
export const GGUF_TYPE = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10 } as const;

/** The leading fields of struct ggml_tensor (ggml.h): type, buffer, ne[4], nb[4]. */
export const ggml_tensor_head = koffi.struct("ggml_tensor_head", {
  type: "int",
  buffer: "void *",
  ne: koffi.array("int64_t", 4),
  nb: koffi.array("size_t", 4),
});

/** struct ggml_tensor up to its name (ggml.h, GGML_MAX_SRC 10, GGML_MAX_OP_PARAMS 64, GGML_MAX_NAME 64):
 *  the offsets of `buffer` and `data`, which a graph clears before it is allocated again. */
export const ggml_tensor_layout = koffi.struct("ggml_tensor_layout", {
  type: "int",
  buffer: "void *",
  ne: koffi.array("int64_t", 4),
  nb: koffi.array("size_t", 4),
  op: "int",
  op_params: koffi.array("int32_t", 16),
  flags: "int32_t",
  src: koffi.array("void *", 10),
  view_src: "void *",
  view_offs: "size_t",
  data: "void *",
  name: koffi.array("char", 64, "String"),
});

/** ggml_backend_set_n_threads_t, reached through the CPU backend's proc address table. */
export const ggml_backend_set_n_threads_t = koffi.proto("void ggml_backend_set_n_threads_t(void *backend, int n_threads)");
export const BACKEND_DEVICE_TYPE = { CPU: 0, GPU: 1, IGPU: 2, ACCEL: 3 } as const;

type F<A extends unknown[], R> = (...args: A) => R;

export interface GgmlApi {
  ggml_backend_load_all_from_path: F<[string], void>;
  ggml_backend_reg_count: F<[], number>;
  ggml_backend_dev_count: F<[], number>;
  ggml_backend_dev_get: F<[number], Ptr>;
  ggml_backend_dev_name: F<[Ptr], string>;
  ggml_backend_dev_description: F<[Ptr], string>;
  ggml_backend_dev_type: F<[Ptr], number>;
  ggml_backend_dev_memory: F<[Ptr, BigUint64Array, BigUint64Array], void>;
  ggml_backend_init_by_type: F<[number, string | null], Ptr>;
  ggml_backend_free: F<[Ptr], void>;
  ggml_backend_name: F<[Ptr], string>;
  ggml_backend_graph_compute: F<[Ptr, Ptr], number>;
  ggml_backend_alloc_ctx_tensors: F<[Ptr, Ptr], Ptr>;
  ggml_backend_buffer_free: F<[Ptr], void>;
  ggml_backend_tensor_set: F<[Ptr, ArrayBufferView, number, number], void>;
  ggml_backend_tensor_get: F<[Ptr, ArrayBufferView, number, number], void>;
  ggml_backend_get_default_buffer_type: F<[Ptr], Ptr>;
  ggml_gallocr_new: F<[Ptr], Ptr>;
  ggml_gallocr_alloc_graph: F<[Ptr, Ptr], boolean>;
  ggml_gallocr_free: F<[Ptr], void>;
  ggml_init: F<[{ mem_size: number; mem_buffer: Ptr; no_alloc: boolean }], Ptr>;
  ggml_free: F<[Ptr], void>;
  ggml_tensor_overhead: F<[], number>;
  ggml_graph_overhead_custom: F<[number, boolean], number>;
  ggml_new_tensor_1d: F<[Ptr, number, number], Ptr>;
  ggml_new_tensor_2d: F<[Ptr, number, number, number], Ptr>;
  ggml_new_tensor_3d: F<[Ptr, number, number, number, number], Ptr>;
  ggml_new_tensor_4d: F<[Ptr, number, number, number, number, number], Ptr>;
  ggml_nbytes: F<[Ptr], number>;
  ggml_nelements: F<[Ptr], number>;
  ggml_set_name: F<[Ptr, string], Ptr>;
  ggml_get_tensor: F<[Ptr, string], Ptr>;
  ggml_set_input: F<[Ptr], void>;
  ggml_set_output: F<[Ptr], void>;
  ggml_mul_mat: F<[Ptr, Ptr, Ptr], Ptr>;
  ggml_add: F<[Ptr, Ptr, Ptr], Ptr>;
  ggml_mul: F<[Ptr, Ptr, Ptr], Ptr>;
  ggml_scale: F<[Ptr, Ptr, number], Ptr>;
  ggml_rms_norm: F<[Ptr, Ptr, number], Ptr>;
  ggml_get_rows: F<[Ptr, Ptr, Ptr], Ptr>;
  ggml_swiglu_split: F<[Ptr, Ptr, Ptr], Ptr>;
  ggml_soft_max_ext: F<[Ptr, Ptr, Ptr, number, number], Ptr>;
  ggml_rope_ext: F<[Ptr, Ptr, Ptr, Ptr, number, number, number, number, number, number, number, number, number], Ptr>;
  ggml_flash_attn_ext: F<[Ptr, Ptr, Ptr, Ptr, Ptr, number, number, number], Ptr>;
  ggml_reshape_2d: F<[Ptr, Ptr, number, number], Ptr>;
  ggml_reshape_3d: F<[Ptr, Ptr, number, number, number], Ptr>;
  ggml_view_2d: F<[Ptr, Ptr, number, number, number, number], Ptr>;
  ggml_permute: F<[Ptr, Ptr, number, number, number, number], Ptr>;
  ggml_cont: F<[Ptr, Ptr], Ptr>;
  ggml_pool_1d: F<[Ptr, Ptr, number, number, number, number], Ptr>;
  ggml_new_graph_custom: F<[Ptr, number, boolean], Ptr>;
  ggml_build_forward_expand: F<[Ptr, Ptr], void>;
  gguf_init_from_file: F<[string, { no_alloc: boolean; ctx: Ptr }], Ptr>;
  gguf_free: F<[Ptr], void>;
  gguf_get_n_tensors: F<[Ptr], number>;
  gguf_get_tensor_name: F<[Ptr, number], string>;
  gguf_get_tensor_offset: F<[Ptr, number], number>;
  gguf_get_data_offset: F<[Ptr], number>;
  gguf_find_key: F<[Ptr, string], number>;
  gguf_get_val_u32: F<[Ptr, number], number>;
  gguf_get_val_str: F<[Ptr, number], string>;
  // PFlash scorer: backends, scheduler, buffers
  ggml_backend_reg_by_name: F<[string], Ptr>;
  ggml_backend_reg_get_proc_address: F<[Ptr, string], Ptr>;
  ggml_backend_get_device: F<[Ptr], Ptr>;
  ggml_backend_dev_backend_reg: F<[Ptr], Ptr>;
  ggml_backend_alloc_ctx_tensors_from_buft: F<[Ptr, Ptr], Ptr>;
  ggml_backend_buffer_set_usage: F<[Ptr, number], void>;
  ggml_backend_buffer_get_size: F<[Ptr], number>;
  ggml_backend_buffer_clear: F<[Ptr, number], void>;
  ggml_backend_synchronize: F<[Ptr], void>;
  ggml_backend_sched_new: F<[Ptr[], Ptr, number, number, boolean, boolean], Ptr>;
  ggml_backend_sched_free: F<[Ptr], void>;
  ggml_backend_sched_reserve: F<[Ptr, Ptr], boolean>;
  ggml_backend_sched_reset: F<[Ptr], void>;
  ggml_backend_sched_alloc_graph: F<[Ptr, Ptr], boolean>;
  ggml_backend_sched_graph_compute: F<[Ptr, Ptr], number>;
  ggml_backend_sched_get_buffer_size: F<[Ptr, Ptr], number>;
  ggml_backend_sched_get_n_splits: F<[Ptr], number>;
  // PFlash scorer: tensors and ops
  ggml_row_size: F<[number, number], number>;
  ggml_type_size: F<[number], number>;
  ggml_graph_n_nodes: F<[Ptr], number>;
  ggml_get_first_tensor: F<[Ptr], Ptr>;
  ggml_get_next_tensor: F<[Ptr, Ptr], Ptr>;
  ggml_get_mem_buffer: F<[Ptr], Ptr>;
  ggml_get_mem_size: F<[Ptr], number>;
  ggml_get_name: F<[Ptr], string>;
  ggml_sub: F<[Ptr, Ptr, Ptr], Ptr>;
  ggml_relu: F<[Ptr, Ptr], Ptr>;
  ggml_step: F<[Ptr, Ptr], Ptr>;
  ggml_log: F<[Ptr, Ptr], Ptr>;
  ggml_mean: F<[Ptr, Ptr], Ptr>;
  ggml_arange: F<[Ptr, number, number, number], Ptr>;
  ggml_cast: F<[Ptr, Ptr, number], Ptr>;
  ggml_cpy: F<[Ptr, Ptr, Ptr], Ptr>;
  ggml_set_rows: F<[Ptr, Ptr, Ptr, Ptr], Ptr>;
  ggml_repeat_4d: F<[Ptr, Ptr, number, number, number, number], Ptr>;
  ggml_pad_ext: F<[Ptr, Ptr, number, number, number, number, number, number, number, number], Ptr>;
  ggml_reshape_4d: F<[Ptr, Ptr, number, number, number, number], Ptr>;
  ggml_view_1d: F<[Ptr, Ptr, number, number], Ptr>;
  ggml_view_3d: F<[Ptr, Ptr, number, number, number, number, number, number], Ptr>;
  ggml_view_4d: F<[Ptr, Ptr, number, number, number, number, number, number, number, number], Ptr>;
  ggml_transpose: F<[Ptr, Ptr], Ptr>;
  ggml_prec_set_acc: F<[Ptr, number], boolean>;
  gguf_get_kv_type: F<[Ptr, number], number>;
  gguf_get_val_f32: F<[Ptr, number], number>;
  gguf_get_arr_n: F<[Ptr, number], number>;
  gguf_find_tensor: F<[Ptr, string], number>;
  gguf_get_tensor_type: F<[Ptr, number], number>;
  gguf_get_tensor_size: F<[Ptr, number], number>;
}

/** ggml-base holds tensors/graphs/gguf; libggml holds the backend registry. */
export function declareGgml(base: koffi.IKoffiLib, ggml: koffi.IKoffiLib): GgmlApi {
  const b = (sig: string) => base.func(sig);
  const g = (sig: string) => ggml.func(sig);
  return {
    ggml_backend_load_all_from_path: g("void ggml_backend_load_all_from_path(const char *dir)"),
    ggml_backend_reg_count: g("size_t ggml_backend_reg_count(void)"),
    ggml_backend_dev_count: g("size_t ggml_backend_dev_count(void)"),
    ggml_backend_dev_get: g("void *ggml_backend_dev_get(size_t i)"),
    ggml_backend_dev_name: b("const char *ggml_backend_dev_name(void *dev)"),
    ggml_backend_dev_description: b("const char *ggml_backend_dev_description(void *dev)"),
    ggml_backend_dev_type: b("int ggml_backend_dev_type(void *dev)"),
    ggml_backend_dev_memory: b("void ggml_backend_dev_memory(void *dev, uint64_t *free, uint64_t *total)"),
    ggml_backend_init_by_type: g("void *ggml_backend_init_by_type(int type, const char *params)"),
    ggml_backend_free: b("void ggml_backend_free(void *backend)"),
    ggml_backend_name: b("const char *ggml_backend_name(void *backend)"),
    ggml_backend_graph_compute: b("int ggml_backend_graph_compute(void *backend, void *graph)"),
    ggml_backend_alloc_ctx_tensors: b("void *ggml_backend_alloc_ctx_tensors(void *ctx, void *backend)"),
    ggml_backend_buffer_free: b("void ggml_backend_buffer_free(void *buffer)"),
    ggml_backend_tensor_set: b("void ggml_backend_tensor_set(void *tensor, const void *data, size_t offset, size_t size)"),
    ggml_backend_tensor_get: b("void ggml_backend_tensor_get(void *tensor, void *data, size_t offset, size_t size)"),
    ggml_backend_get_default_buffer_type: b("void *ggml_backend_get_default_buffer_type(void *backend)"),
    ggml_gallocr_new: b("void *ggml_gallocr_new(void *buft)"),
    ggml_gallocr_alloc_graph: b("bool ggml_gallocr_alloc_graph(void *galloc, void *graph)"),
    ggml_gallocr_free: b("void ggml_gallocr_free(void *galloc)"),
    ggml_init: b("void *ggml_init(ggml_init_params params)"),
    ggml_free: b("void ggml_free(void *ctx)"),
    ggml_tensor_overhead: b("size_t ggml_tensor_overhead(void)"),
    ggml_graph_overhead_custom: b("size_t ggml_graph_overhead_custom(size_t size, bool grads)"),
    ggml_new_tensor_1d: b("void *ggml_new_tensor_1d(void *ctx, int type, int64_t ne0)"),
    ggml_new_tensor_2d: b("void *ggml_new_tensor_2d(void *ctx, int type, int64_t ne0, int64_t ne1)"),
    ggml_new_tensor_3d: b("void *ggml_new_tensor_3d(void *ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2)"),
    ggml_new_tensor_4d: b("void *ggml_new_tensor_4d(void *ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)"),
    ggml_nbytes: b("size_t ggml_nbytes(void *t)"),
    ggml_nelements: b("int64_t ggml_nelements(void *t)"),
    ggml_set_name: b("void *ggml_set_name(void *t, const char *name)"),
    ggml_get_tensor: b("void *ggml_get_tensor(void *ctx, const char *name)"),
    ggml_set_input: b("void ggml_set_input(void *t)"),
    ggml_set_output: b("void ggml_set_output(void *t)"),
    ggml_mul_mat: b("void *ggml_mul_mat(void *ctx, void *a, void *b)"),
    ggml_add: b("void *ggml_add(void *ctx, void *a, void *b)"),
    ggml_mul: b("void *ggml_mul(void *ctx, void *a, void *b)"),
    ggml_scale: b("void *ggml_scale(void *ctx, void *a, float s)"),
    ggml_rms_norm: b("void *ggml_rms_norm(void *ctx, void *a, float eps)"),
    ggml_get_rows: b("void *ggml_get_rows(void *ctx, void *a, void *rows)"),
    ggml_swiglu_split: b("void *ggml_swiglu_split(void *ctx, void *a, void *b)"),
    ggml_soft_max_ext: b("void *ggml_soft_max_ext(void *ctx, void *a, void *mask, float scale, float max_bias)"),
    ggml_rope_ext: b("void *ggml_rope_ext(void *ctx, void *a, void *pos, void *freq, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow)"),
    ggml_flash_attn_ext: b("void *ggml_flash_attn_ext(void *ctx, void *q, void *k, void *v, void *mask, float scale, float max_bias, float softcap)"),
    ggml_reshape_2d: b("void *ggml_reshape_2d(void *ctx, void *a, int64_t ne0, int64_t ne1)"),
    ggml_reshape_3d: b("void *ggml_reshape_3d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2)"),
    ggml_view_2d: b("void *ggml_view_2d(void *ctx, void *a, int64_t ne0, int64_t ne1, size_t nb1, size_t offset)"),
    ggml_permute: b("void *ggml_permute(void *ctx, void *a, int ax0, int ax1, int ax2, int ax3)"),
    ggml_cont: b("void *ggml_cont(void *ctx, void *a)"),
    ggml_pool_1d: b("void *ggml_pool_1d(void *ctx, void *a, int op, int k0, int s0, int p0)"),
    ggml_new_graph_custom: b("void *ggml_new_graph_custom(void *ctx, size_t size, bool grads)"),
    ggml_build_forward_expand: b("void ggml_build_forward_expand(void *graph, void *tensor)"),
    gguf_init_from_file: b("void *gguf_init_from_file(const char *fname, gguf_init_params params)"),
    gguf_free: b("void gguf_free(void *ctx)"),
    gguf_get_n_tensors: b("int64_t gguf_get_n_tensors(void *ctx)"),
    gguf_get_tensor_name: b("const char *gguf_get_tensor_name(void *ctx, int64_t id)"),
    gguf_get_tensor_offset: b("size_t gguf_get_tensor_offset(void *ctx, int64_t id)"),
    gguf_get_data_offset: b("size_t gguf_get_data_offset(void *ctx)"),
    gguf_find_key: b("int64_t gguf_find_key(void *ctx, const char *key)"),
    gguf_get_val_u32: b("uint32_t gguf_get_val_u32(void *ctx, int64_t id)"),
    gguf_get_val_str: b("const char *gguf_get_val_str(void *ctx, int64_t id)"),
    ggml_backend_reg_by_name: g("void *ggml_backend_reg_by_name(const char *name)"),
    ggml_backend_reg_get_proc_address: b("void *ggml_backend_reg_get_proc_address(void *reg, const char *name)"),
    ggml_backend_get_device: b("void *ggml_backend_get_device(void *backend)"),
    ggml_backend_dev_backend_reg: b("void *ggml_backend_dev_backend_reg(void *dev)"),
    ggml_backend_alloc_ctx_tensors_from_buft: b("void *ggml_backend_alloc_ctx_tensors_from_buft(void *ctx, void *buft)"),
    ggml_backend_buffer_set_usage: b("void ggml_backend_buffer_set_usage(void *buffer, int usage)"),
    ggml_backend_buffer_get_size: b("size_t ggml_backend_buffer_get_size(void *buffer)"),
    ggml_backend_buffer_clear: b("void ggml_backend_buffer_clear(void *buffer, uint8_t value)"),
    ggml_backend_synchronize: b("void ggml_backend_synchronize(void *backend)"),
    ggml_backend_sched_new: b("void *ggml_backend_sched_new(void **backends, void *bufts, int n_backends, size_t graph_size, bool parallel, bool op_offload)"),
    ggml_backend_sched_free: b("void ggml_backend_sched_free(void *sched)"),
    ggml_backend_sched_reserve: b("bool ggml_backend_sched_reserve(void *sched, void *graph)"),
    ggml_backend_sched_reset: b("void ggml_backend_sched_reset(void *sched)"),
    ggml_backend_sched_alloc_graph: b("bool ggml_backend_sched_alloc_graph(void *sched, void *graph)"),
    ggml_backend_sched_graph_compute: b("int ggml_backend_sched_graph_compute(void *sched, void *graph)"),
    ggml_backend_sched_get_buffer_size: b("size_t ggml_backend_sched_get_buffer_size(void *sched, void *backend)"),
    ggml_backend_sched_get_n_splits: b("int ggml_backend_sched_get_n_splits(void *sched)"),
    ggml_row_size: b("size_t ggml_row_size(int type, int64_t ne)"),
    ggml_type_size: b("size_t ggml_type_size(int type)"),
    ggml_graph_n_nodes: b("int ggml_graph_n_nodes(void *graph)"),
    ggml_get_first_tensor: b("void *ggml_get_first_tensor(void *ctx)"),
    ggml_get_next_tensor: b("void *ggml_get_next_tensor(void *ctx, void *tensor)"),
    ggml_get_mem_buffer: b("void *ggml_get_mem_buffer(void *ctx)"),
    ggml_get_mem_size: b("size_t ggml_get_mem_size(void *ctx)"),
    ggml_get_name: b("const char *ggml_get_name(void *tensor)"),
    ggml_sub: b("void *ggml_sub(void *ctx, void *a, void *b)"),
    ggml_relu: b("void *ggml_relu(void *ctx, void *a)"),
    ggml_step: b("void *ggml_step(void *ctx, void *a)"),
    ggml_log: b("void *ggml_log(void *ctx, void *a)"),
    ggml_mean: b("void *ggml_mean(void *ctx, void *a)"),
    ggml_arange: b("void *ggml_arange(void *ctx, float start, float stop, float step)"),
    ggml_cast: b("void *ggml_cast(void *ctx, void *a, int type)"),
    ggml_cpy: b("void *ggml_cpy(void *ctx, void *a, void *b)"),
    ggml_set_rows: b("void *ggml_set_rows(void *ctx, void *a, void *b, void *c)"),
    ggml_repeat_4d: b("void *ggml_repeat_4d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)"),
    ggml_pad_ext: b("void *ggml_pad_ext(void *ctx, void *a, int lp0, int rp0, int lp1, int rp1, int lp2, int rp2, int lp3, int rp3)"),
    ggml_reshape_4d: b("void *ggml_reshape_4d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)"),
    ggml_view_1d: b("void *ggml_view_1d(void *ctx, void *a, int64_t ne0, size_t offset)"),
    ggml_view_3d: b("void *ggml_view_3d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2, size_t nb1, size_t nb2, size_t offset)"),
    ggml_view_4d: b("void *ggml_view_4d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, size_t nb1, size_t nb2, size_t nb3, size_t offset)"),
    ggml_transpose: b("void *ggml_transpose(void *ctx, void *a)"),
    ggml_prec_set_acc: b("bool ggml_prec_set_acc(void *a, int prec)"),
    gguf_get_kv_type: b("int gguf_get_kv_type(void *ctx, int64_t key_id)"),
    gguf_get_val_f32: b("float gguf_get_val_f32(void *ctx, int64_t key_id)"),
    gguf_get_arr_n: b("size_t gguf_get_arr_n(void *ctx, int64_t key_id)"),
    gguf_find_tensor: b("int64_t gguf_find_tensor(void *ctx, const char *name)"),
    gguf_get_tensor_type: b("int gguf_get_tensor_type(void *ctx, int64_t tensor_id)"),
    gguf_get_tensor_size: b("size_t gguf_get_tensor_size(void *ctx, int64_t tensor_id)"),
  } as GgmlApi;
}
