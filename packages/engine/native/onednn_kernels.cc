// Native training kernels for the tfjs wasm backend: oneDNN primitives run in place on the wasm heap.
//
// The tfjs wasm backend keeps every tensor in one WebAssembly.Memory. JavaScript passes that memory's
// ArrayBuffer and the byte offsets of the tensors; each call builds (once per shape and thread count, then
// cached) a oneDNN primitive over NHWC activations and reads/writes the tensors where tfjs keeps them.
// Filters keep the tfjs layout [KH, KW, Cin, Cout] (oneDNN's `hwio`); a primitive that prefers a blocked
// weight layout gets a cached reorder. Calls are synchronous.
//
// Build (scripts/setup.sh): g++ -O3 -shared -fPIC -fopenmp -I<node-api-headers>/include onednn_kernels.cc -ldnnl
#include <node_api.h>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

/** A JS-visible error: thrown from the binding functions and turned into a JS exception. */
struct BindingError {
  std::string message;
};

/** One engine and stream per thread (worker_threads each load the addon and call from their own thread). */
struct Context {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  int threads = 1;
};
Context& ctx() {
  thread_local Context c;
  return c;
}

/** A primitive with the reorders that bring the tfjs weight layout to the one it chose (and back). */
struct Entry {
  dnnl::primitive prim;
  memory::desc src_md, wei_md, dst_md, bias_md;   // the primitive's descriptors
  memory::desc user_wei_md;                        // the tfjs layout of the weights (hwio)
  bool reorder_weights = false;                    // weights (fwd, bwd-data) or diff weights (bwd-weights)
  dnnl::reorder wei_reorder;
  memory wei_scratch;                              // weights in the primitive's layout
  bool has_bias = false;
};

std::unordered_map<std::string, std::unique_ptr<Entry>>& cache() {
  thread_local std::unordered_map<std::string, std::unique_ptr<Entry>> c;
  return c;
}

std::string key_of(const char* kind, const int32_t* p, size_t n) {
  std::string k(kind);
  k += ':' + std::to_string(ctx().threads);
  for (size_t i = 0; i < n; ++i) k += ',' + std::to_string(p[i]);
  return k;
}

// ---- Node-API helpers ----------------------------------------------------------------------------------

void check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) throw BindingError{std::string("onednn_kernels: ") + what + " failed"};
}

std::vector<napi_value> args_of(napi_env env, napi_callback_info info, size_t want) {
  std::vector<napi_value> argv(want);
  size_t argc = want;
  check(env, napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr), "napi_get_cb_info");
  if (argc != want) throw BindingError{"onednn_kernels: expected " + std::to_string(want) + " arguments, got " + std::to_string(argc)};
  return argv;
}

/** The heap: an ArrayBuffer (the wasm memory's buffer). */
struct Heap {
  uint8_t* base = nullptr;
  size_t size = 0;
  /** Pointer to `count` floats at byte offset `off`, bounds-checked; null when off < 0 (absent tensor). */
  float* at(int64_t off, int64_t count, const char* name) const {
    if (off < 0) return nullptr;
    if (off % 4 != 0 || count < 0 || static_cast<uint64_t>(off) + static_cast<uint64_t>(count) * 4 > size) {
      throw BindingError{std::string("onednn_kernels: tensor '") + name + "' at offset " + std::to_string(off) + " with " +
                         std::to_string(count) + " floats is outside the heap (" + std::to_string(size) + " bytes)"};
    }
    return reinterpret_cast<float*>(base + off);
  }
};

Heap heap_of(napi_env env, napi_value v) {
  Heap h;
  void* data = nullptr;
  bool is_ab = false;
  check(env, napi_is_arraybuffer(env, v, &is_ab), "napi_is_arraybuffer");
  if (!is_ab) throw BindingError{"onednn_kernels: the heap argument must be an ArrayBuffer (the wasm memory's buffer)"};
  check(env, napi_get_arraybuffer_info(env, v, &data, &h.size), "napi_get_arraybuffer_info");
  if (data == nullptr) throw BindingError{"onednn_kernels: the heap ArrayBuffer is detached (re-read memory.buffer after allocating)"};
  h.base = static_cast<uint8_t*>(data);
  return h;
}

int64_t int_of(napi_env env, napi_value v) {
  int64_t x = 0;
  check(env, napi_get_value_int64(env, v, &x), "napi_get_value_int64");
  return x;
}

/** The params Int32Array. */
std::vector<int32_t> params_of(napi_env env, napi_value v, size_t want) {
  bool is_ta = false;
  check(env, napi_is_typedarray(env, v, &is_ta), "napi_is_typedarray");
  if (!is_ta) throw BindingError{"onednn_kernels: params must be an Int32Array"};
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  check(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr), "napi_get_typedarray_info");
  if (type != napi_int32_array || length != want) {
    throw BindingError{"onednn_kernels: params must be an Int32Array of " + std::to_string(want) + " values"};
  }
  const int32_t* p = static_cast<const int32_t*>(data);
  return std::vector<int32_t>(p, p + length);
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const BindingError& e) {
    napi_throw_error(env, "ASAM_NATIVE", e.message.c_str());
  } catch (const dnnl::error& e) {
    napi_throw_error(env, "ASAM_NATIVE_DNNL", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "ASAM_NATIVE", e.what());
  }
  return nullptr;
}

// ---- convolution ---------------------------------------------------------------------------------------

// params: n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, relu
constexpr size_t CONV_PARAMS = 18;
enum ConvKind { FORWARD = 0, BACKWARD_DATA = 1, BACKWARD_WEIGHTS = 2 };

struct ConvShape {
  memory::dim n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool relu;
  explicit ConvShape(const std::vector<int32_t>& p)
      : n(p[0]), h(p[1]), w(p[2]), cin(p[3]), oh(p[4]), ow(p[5]), cout(p[6]), kh(p[7]), kw(p[8]), sh(p[9]), sw(p[10]),
        dh(p[11]), dw(p[12]), pt(p[13]), pl(p[14]), pb(p[15]), pr(p[16]), relu(p[17] != 0) {}
  memory::desc src(tag t = tag::nhwc) const { return memory::desc({n, cin, h, w}, dt::f32, t); }
  memory::desc dst(tag t = tag::nhwc) const { return memory::desc({n, cout, oh, ow}, dt::f32, t); }
  memory::desc wei(tag t) const { return memory::desc({cout, cin, kh, kw}, dt::f32, t); }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }
  memory::dims pad_l() const { return {pt, pl}; }
  memory::dims pad_r() const { return {pb, pr}; }
  dnnl::convolution_forward::primitive_desc forward_pd(bool bias) const {
    auto& c = ctx();
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src(),
                                                   wei(tag::any), memory::desc({cout}, dt::f32, tag::x), dst(), strides(),
                                                   dilates(), pad_l(), pad_r())
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src(),
                                                   wei(tag::any), dst(), strides(), dilates(), pad_l(), pad_r());
    return dnnl::convolution_forward::primitive_desc(d, attr, c.eng);
  }
};

Entry& conv_entry(int kind, const std::vector<int32_t>& p, bool bias) {
  std::vector<int32_t> kp(p);
  kp.push_back(bias ? 1 : 0);
  const std::string key = key_of(kind == FORWARD ? "cf" : kind == BACKWARD_DATA ? "cd" : "cw", kp.data(), kp.size());
  auto& c = cache();
  auto it = c.find(key);
  if (it != c.end()) return *it->second;
  auto& cx = ctx();
  omp_set_num_threads(cx.threads);
  const ConvShape s(p);
  auto e = std::make_unique<Entry>();
  e->user_wei_md = s.wei(tag::hwio);
  e->has_bias = bias;
  if (kind == FORWARD) {
    auto pd = s.forward_pd(bias);
    e->prim = dnnl::convolution_forward(pd);
    e->src_md = pd.src_desc();
    e->dst_md = pd.dst_desc();
    e->wei_md = pd.weights_desc();
    if (bias) e->bias_md = pd.bias_desc();
    e->reorder_weights = e->wei_md != e->user_wei_md;
    if (e->reorder_weights) e->wei_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(cx.eng, e->user_wei_md, cx.eng, e->wei_md));
  } else if (kind == BACKWARD_DATA) {
    auto hint = s.forward_pd(false);
    auto d = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, s.src(), s.wei(tag::any), s.dst(),
                                                   s.strides(), s.dilates(), s.pad_l(), s.pad_r());
    auto pd = dnnl::convolution_backward_data::primitive_desc(d, cx.eng, hint);
    e->prim = dnnl::convolution_backward_data(pd);
    e->src_md = pd.diff_src_desc();
    e->dst_md = pd.diff_dst_desc();
    e->wei_md = pd.weights_desc();
    e->reorder_weights = e->wei_md != e->user_wei_md;
    if (e->reorder_weights) e->wei_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(cx.eng, e->user_wei_md, cx.eng, e->wei_md));
  } else {
    auto hint = s.forward_pd(false);
    auto d = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, s.src(), s.wei(tag::any), s.dst(),
                                                      s.strides(), s.dilates(), s.pad_l(), s.pad_r());
    auto pd = dnnl::convolution_backward_weights::primitive_desc(d, cx.eng, hint);
    e->prim = dnnl::convolution_backward_weights(pd);
    e->src_md = pd.src_desc();
    e->dst_md = pd.diff_dst_desc();
    e->wei_md = pd.diff_weights_desc();
    e->reorder_weights = e->wei_md != e->user_wei_md;
    if (e->reorder_weights) e->wei_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(cx.eng, e->wei_md, cx.eng, e->user_wei_md));
  }
  if (e->src_md != s.src() || e->dst_md != s.dst()) {
    throw BindingError{"onednn_kernels: the convolution primitive did not accept NHWC activations"};
  }
  if (e->reorder_weights) e->wei_scratch = memory(e->wei_md, cx.eng);
  Entry& ref = *e;
  c.emplace(key, std::move(e));
  return ref;
}

/**
 * conv(kind, heap, a, b, c, d, params):
 *   kind 0 forward:          a = x [N,H,W,Cin], b = filter [KH,KW,Cin,Cout], c = bias [Cout] or -1, d = y [N,OH,OW,Cout]
 *   kind 1 backward data:    a = dy, b = filter, d = dx
 *   kind 2 backward weights: a = x, b = dy, d = dW [KH,KW,Cin,Cout]
 */
napi_value Conv(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto argv = args_of(env, info, 7);
    const int kind = static_cast<int>(int_of(env, argv[0]));
    if (kind < FORWARD || kind > BACKWARD_WEIGHTS) throw BindingError{"onednn_kernels: conv kind must be 0, 1 or 2"};
    const Heap heap = heap_of(env, argv[1]);
    const int64_t a = int_of(env, argv[2]), b = int_of(env, argv[3]), cb = int_of(env, argv[4]), d = int_of(env, argv[5]);
    const auto p = params_of(env, argv[6], CONV_PARAMS);
    const ConvShape s(p);
    const int64_t xs = s.n * s.h * s.w * s.cin, ys = s.n * s.oh * s.ow * s.cout, ws = s.kh * s.kw * s.cin * s.cout;
    const bool bias = kind == FORWARD && cb >= 0;
    Entry& e = conv_entry(kind, p, bias);
    auto& cx = ctx();
    omp_set_num_threads(cx.threads);
    std::unordered_map<int, memory> args;
    if (kind == FORWARD) {
      memory src(e.src_md, cx.eng, heap.at(a, xs, "x"));
      memory user_w(e.user_wei_md, cx.eng, heap.at(b, ws, "filter"));
      memory dst(e.dst_md, cx.eng, heap.at(d, ys, "y"));
      if (e.reorder_weights) e.wei_reorder.execute(cx.strm, user_w, e.wei_scratch);
      args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, e.reorder_weights ? e.wei_scratch : user_w}, {DNNL_ARG_DST, dst}};
      if (bias) args.insert({DNNL_ARG_BIAS, memory(e.bias_md, cx.eng, heap.at(cb, s.cout, "bias"))});
    } else if (kind == BACKWARD_DATA) {
      memory diff_dst(e.dst_md, cx.eng, heap.at(a, ys, "dy"));
      memory user_w(e.user_wei_md, cx.eng, heap.at(b, ws, "filter"));
      memory diff_src(e.src_md, cx.eng, heap.at(d, xs, "dx"));
      if (e.reorder_weights) e.wei_reorder.execute(cx.strm, user_w, e.wei_scratch);
      args = {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, e.reorder_weights ? e.wei_scratch : user_w}, {DNNL_ARG_DIFF_SRC, diff_src}};
    } else {
      memory src(e.src_md, cx.eng, heap.at(a, xs, "x"));
      memory diff_dst(e.dst_md, cx.eng, heap.at(b, ys, "dy"));
      memory user_dw(e.user_wei_md, cx.eng, heap.at(d, ws, "dW"));
      args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, e.reorder_weights ? e.wei_scratch : user_dw}};
      e.prim.execute(cx.strm, args);
      if (e.reorder_weights) e.wei_reorder.execute(cx.strm, e.wei_scratch, user_dw);
      cx.strm.wait();
      return nullptr;
    }
    e.prim.execute(cx.strm, args);
    cx.strm.wait();
    return nullptr;
  });
}

// ---- matmul --------------------------------------------------------------------------------------------

// params: batchA, batchB, m, k, n, transA, transB, bias (0/1, a [N] vector), relu
constexpr size_t MATMUL_PARAMS = 9;

Entry& matmul_entry(const std::vector<int32_t>& p) {
  const std::string key = key_of("mm", p.data(), p.size());
  auto& c = cache();
  auto it = c.find(key);
  if (it != c.end()) return *it->second;
  auto& cx = ctx();
  omp_set_num_threads(cx.threads);
  const memory::dim ba = p[0], bb = p[1], m = p[2], k = p[3], n = p[4];
  const bool ta = p[5] != 0, tb = p[6] != 0, bias = p[7] != 0, relu = p[8] != 0;
  const memory::dim bo = ba > bb ? ba : bb;
  auto e = std::make_unique<Entry>();
  e->src_md = memory::desc({ba, m, k}, dt::f32, ta ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
  e->wei_md = memory::desc({bb, k, n}, dt::f32, tb ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
  e->dst_md = memory::desc({bo, m, n}, dt::f32, memory::dims{m * n, n, 1});
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  e->has_bias = bias;
  if (bias) {
    e->bias_md = memory::desc({1, 1, n}, dt::f32, memory::dims{n, n, 1});
    auto d = dnnl::matmul::desc(e->src_md, e->wei_md, e->bias_md, e->dst_md);
    e->prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, attr, cx.eng));
  } else {
    auto d = dnnl::matmul::desc(e->src_md, e->wei_md, e->dst_md);
    e->prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, attr, cx.eng));
  }
  Entry& ref = *e;
  c.emplace(key, std::move(e));
  return ref;
}

/** matmul(heap, a, b, bias, c, params): c [B,M,N] = op(a) · op(b) (+ bias [N]) (relu); a batch of 1 broadcasts. */
napi_value Matmul(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto argv = args_of(env, info, 6);
    const Heap heap = heap_of(env, argv[0]);
    const int64_t a = int_of(env, argv[1]), b = int_of(env, argv[2]), bias = int_of(env, argv[3]), c = int_of(env, argv[4]);
    const auto p = params_of(env, argv[5], MATMUL_PARAMS);
    const int64_t ba = p[0], bb = p[1], m = p[2], k = p[3], n = p[4];
    if (ba != bb && ba != 1 && bb != 1) throw BindingError{"onednn_kernels: matmul batch sizes must be equal or one of them 1"};
    if ((p[7] != 0) != (bias >= 0)) throw BindingError{"onednn_kernels: matmul bias flag and bias offset disagree"};
    Entry& e = matmul_entry(p);
    auto& cx = ctx();
    omp_set_num_threads(cx.threads);
    const int64_t bo = ba > bb ? ba : bb;
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, memory(e.src_md, cx.eng, heap.at(a, ba * m * k, "a"))},
        {DNNL_ARG_WEIGHTS, memory(e.wei_md, cx.eng, heap.at(b, bb * k * n, "b"))},
        {DNNL_ARG_DST, memory(e.dst_md, cx.eng, heap.at(c, bo * m * n, "c"))},
    };
    if (e.has_bias) args.insert({DNNL_ARG_BIAS, memory(e.bias_md, cx.eng, heap.at(bias, n, "bias"))});
    e.prim.execute(cx.strm, args);
    cx.strm.wait();
    return nullptr;
  });
}

// ---- threads, version, cache -----------------------------------------------------------------------------

/** setThreads(n): oneDNN threads for the calling thread's later primitives (cached per thread count). */
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto argv = args_of(env, info, 1);
    const int64_t n = int_of(env, argv[0]);
    if (n < 1 || n > 1024) throw BindingError{"onednn_kernels: threads must be between 1 and 1024"};
    ctx().threads = static_cast<int>(n);
    omp_set_num_threads(static_cast<int>(n));
    return nullptr;
  });
}

/** info(): { version, isa, threads, cached } */
napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    const dnnl_version_t* v = dnnl::version();
    napi_value obj, val;
    check(env, napi_create_object(env, &obj), "napi_create_object");
    const std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    check(env, napi_create_string_utf8(env, version.c_str(), version.size(), &val), "string");
    check(env, napi_set_named_property(env, obj, "version", val), "set");
    const char* isa = "";
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::sse41: isa = "sse41"; break;
      case dnnl::cpu_isa::avx: isa = "avx"; break;
      case dnnl::cpu_isa::avx2: isa = "avx2"; break;
      case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
      case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
      case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
      case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
      default: isa = "other"; break;
    }
    check(env, napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &val), "string");
    check(env, napi_set_named_property(env, obj, "isa", val), "set");
    check(env, napi_create_int32(env, ctx().threads, &val), "int");
    check(env, napi_set_named_property(env, obj, "threads", val), "set");
    check(env, napi_create_int32(env, static_cast<int32_t>(cache().size()), &val), "int");
    check(env, napi_set_named_property(env, obj, "cached", val), "set");
    return obj;
  });
}

/** clearCache(): drops the calling thread's cached primitives. */
napi_value ClearCache(napi_env env, napi_callback_info) {
  cache().clear();
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clearCache", nullptr, ClearCache, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
