/*
 * Convolution gradients for the tfjs wasm backend, WebAssembly SIMD (128-bit), float32, NHWC.
 *
 * The module imports the wasm backend's own linear memory (env.memory) and works on tensors in
 * place: every pointer argument is a byte offset into that memory (a tensor's memoryOffset).
 * It has no data, no stack use and no imports besides the memory, so it never writes anywhere but
 * the output (and scratch) buffers it is given. scripts/build-wasm.mjs checks that after linking.
 *
 * Shapes (tfjs conventions, dilation 1):
 *   x  [N, H, W, Cin]      dy [N, OH, OW, Cout]      filter [KH, KW, Cin, Cout]
 *   ih = oh·sh + kh − pt,  iw = ow·sw + kw − pl (out-of-range input pixels are zero padding).
 */
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

#define EXPORT(name) __attribute__((export_name(name)))

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
/* ceil(a / b) for b > 0 and any sign of a. */
static inline int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
/* floor(a / b) for b > 0 and any sign of a. */
static inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Output positions o in [lo, hi) whose input position o·s + k − p lies in [0, size). */
static inline void valid_range(int out, int size, int s, int k, int p, int* lo, int* hi) {
  *lo = imax(0, ceil_div(p - k, s));
  *hi = imin(out, floor_div(size - 1 + p - k, s) + 1);
  if (*hi < *lo) *hi = *lo;
}

typedef struct { v128_t v[8]; } tile8;
typedef struct { v128_t v[4]; } tile4;
typedef struct { float v[4]; } tile1;
#define INLINE static inline __attribute__((always_inline))

/*
 * The register kernel shared by the convolution, GEMM and input-gradient code: a 4 × 8 tile t (rows r = 0..3, two
 * vectors each) += Σ_{u<n} s_r[u·ss] · v[u·vs + (0..7)], i.e. n rank-1 updates of 4 broadcast scalars by one
 * 8-wide row, with 8 accumulators held in registers.
 */
INLINE void rank1_4x8(tile8* t, const float* s0, const float* s1, const float* s2, const float* s3, int ss,
                      const float* v, int vs, int n) {
  v128_t c00 = t->v[0], c01 = t->v[1], c10 = t->v[2], c11 = t->v[3];
  v128_t c20 = t->v[4], c21 = t->v[5], c30 = t->v[6], c31 = t->v[7];
  for (int u = 0; u < n; u++) {
    const v128_t b0 = wasm_v128_load(v), b1 = wasm_v128_load(v + 4);
    const v128_t a0 = wasm_v128_load32_splat(s0), a1 = wasm_v128_load32_splat(s1);
    const v128_t a2 = wasm_v128_load32_splat(s2), a3 = wasm_v128_load32_splat(s3);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
    s0 += ss; s1 += ss; s2 += ss; s3 += ss;
    v += vs;
  }
  t->v[0] = c00; t->v[1] = c01; t->v[2] = c10; t->v[3] = c11;
  t->v[4] = c20; t->v[5] = c21; t->v[6] = c30; t->v[7] = c31;
}

/* Loads / stores a 4 × 8 tile from rows r0..r0+3·ld of a float matrix with row stride ld. */
INLINE void load_tile8(tile8* t, const float* a, int ld) {
  for (int r = 0; r < 4; r++) { t->v[2 * r] = wasm_v128_load(a + (size_t)r * ld); t->v[2 * r + 1] = wasm_v128_load(a + (size_t)r * ld + 4); }
}
INLINE void store_tile8(const tile8* t, float* a, int ld) {
  for (int r = 0; r < 4; r++) { wasm_v128_store(a + (size_t)r * ld, t->v[2 * r]); wasm_v128_store(a + (size_t)r * ld + 4, t->v[2 * r + 1]); }
}

/*
 * Filter gradient: dw[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, ih, iw, ci] · dy[n, oh, ow, co].
 *
 * For each filter tap the sum is a matrix product over output pixels, xᵀ·dy with the x rows shifted
 * by the tap. Register tiles of 4 input channels × 8 output channels (8 accumulators) stay in
 * registers over a chunk of `nb` images; the chunk's x and dy stay in cache while every tile and
 * tap streams through it. dw is overwritten.
 */
EXPORT("conv2d_backprop_filter")
void conv2d_backprop_filter(const float* x, const float* dy, float* dw, int N, int H, int W, int Cin,
                            int OH, int OW, int Cout, int KH, int KW, int sh, int sw, int pt, int pl, int nb) {
  const int total = KH * KW * Cin * Cout;
  for (int i = 0; i < total; i++) dw[i] = 0.0f;
  if (nb < 1) nb = 1;
  const int xs = sw * Cin;  /* x stride between consecutive output columns */
  for (int n0 = 0; n0 < N; n0 += nb) {
    const int n1 = imin(N, n0 + nb);
    for (int kh = 0; kh < KH; kh++) {
      int oh0, oh1;
      valid_range(OH, H, sh, kh, pt, &oh0, &oh1);
      if (oh0 >= oh1) continue;
      for (int kw = 0; kw < KW; kw++) {
        int ow0, ow1;
        valid_range(OW, W, sw, kw, pl, &ow0, &ow1);
        const int cols = ow1 - ow0;
        if (cols <= 0) continue;
        float* acc = dw + (size_t)(kh * KW + kw) * Cin * Cout;
        const int iw0 = ow0 * sw + kw - pl;
        int ci = 0;
        for (; ci < Cin; ci += (ci + 4 <= Cin ? 4 : 1)) {
          const int mr = ci + 4 <= Cin ? 4 : 1;
          int co = 0;
          for (; co + 8 <= Cout; co += 8) {
            float* a = acc + (size_t)ci * Cout + co;
            if (mr == 4) {
              tile8 t;
              load_tile8(&t, a, Cout);
              for (int n = n0; n < n1; n++) {
                for (int oh = oh0; oh < oh1; oh++) {
                  const int ih = oh * sh + kh - pt;
                  const float* xr = x + ((size_t)(n * H + ih) * W + iw0) * Cin + ci;
                  const float* dr = dy + ((size_t)(n * OH + oh) * OW + ow0) * Cout + co;
                  rank1_4x8(&t, xr, xr + 1, xr + 2, xr + 3, xs, dr, Cout, cols);
                }
              }
              store_tile8(&t, a, Cout);
            } else {
              v128_t a00 = wasm_v128_load(a), a01 = wasm_v128_load(a + 4);
              for (int n = n0; n < n1; n++) {
                for (int oh = oh0; oh < oh1; oh++) {
                  const int ih = oh * sh + kh - pt;
                  const float* xr = x + ((size_t)(n * H + ih) * W + iw0) * Cin + ci;
                  const float* dr = dy + ((size_t)(n * OH + oh) * OW + ow0) * Cout + co;
                  for (int c = 0; c < cols; c++) {
                    const v128_t x0 = wasm_v128_load32_splat(xr);
                    a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(x0, wasm_v128_load(dr)));
                    a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(x0, wasm_v128_load(dr + 4)));
                    xr += xs;
                    dr += Cout;
                  }
                }
              }
              wasm_v128_store(a, a00); wasm_v128_store(a + 4, a01);
            }
          }
          /* Remaining output channels (Cout not a multiple of 8): scalar. */
          for (; co < Cout; co++) {
            for (int r = 0; r < mr; r++) {
              float s = acc[(size_t)(ci + r) * Cout + co];
              for (int n = n0; n < n1; n++) {
                for (int oh = oh0; oh < oh1; oh++) {
                  const int ih = oh * sh + kh - pt;
                  const float* xr = x + ((size_t)(n * H + ih) * W + iw0) * Cin + ci + r;
                  const float* dr = dy + ((size_t)(n * OH + oh) * OW + ow0) * Cout + co;
                  for (int c = 0; c < cols; c++) s += xr[(size_t)c * xs] * dr[(size_t)c * Cout];
                }
              }
              acc[(size_t)(ci + r) * Cout + co] = s;
            }
          }
        }
      }
    }
  }
}


/* ---- 4-pixel register tiles shared by the input-gradient and stride-1 convolution kernels ----
 * A tile holds 4 output pixels × (8 | 4 | 1) channels. fma4xW adds Σ_{u<n} d_j[u] · f[u·fs + (0..W)] for
 * the 4 pixel rows d_0..d_3 (each a run of n inputs) and a filter with rows fs floats apart. */
INLINE void fma4x8(tile8* t, const float* d0, const float* d1, const float* d2, const float* d3, const float* f, int n, int fs) {
  rank1_4x8(t, d0, d1, d2, d3, 1, f, fs, n);
}

INLINE void fma4x4(tile4* t, const float* d0, const float* d1, const float* d2, const float* d3, const float* f, int n, int fs) {
  v128_t s0 = t->v[0], s1 = t->v[1], s2 = t->v[2], s3 = t->v[3];
  for (int u = 0; u < n; u++) {
    const v128_t f0 = wasm_v128_load(f);
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load32_splat(d0 + u), f0));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load32_splat(d1 + u), f0));
    s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(wasm_v128_load32_splat(d2 + u), f0));
    s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(wasm_v128_load32_splat(d3 + u), f0));
    f += fs;
  }
  t->v[0] = s0; t->v[1] = s1; t->v[2] = s2; t->v[3] = s3;
}

INLINE void fma4x1(tile1* t, const float* d0, const float* d1, const float* d2, const float* d3, const float* f, int n, int fs) {
  float s0 = t->v[0], s1 = t->v[1], s2 = t->v[2], s3 = t->v[3];
  for (int u = 0; u < n; u++) {
    const float fv = *f;
    s0 += d0[u] * fv; s1 += d1[u] * fv; s2 += d2[u] * fv; s3 += d3[u] * fv;
    f += fs;
  }
  t->v[0] = s0; t->v[1] = s1; t->v[2] = s2; t->v[3] = s3;
}

/* Stores a tile to pixels o0..o3 at channel ci, last pixel first (a short tile repeats its last pixel). */
INLINE void store8(const tile8* t, float* o0, float* o1, float* o2, float* o3, int ci) {
  wasm_v128_store(o3 + ci, t->v[6]); wasm_v128_store(o3 + ci + 4, t->v[7]);
  wasm_v128_store(o2 + ci, t->v[4]); wasm_v128_store(o2 + ci + 4, t->v[5]);
  wasm_v128_store(o1 + ci, t->v[2]); wasm_v128_store(o1 + ci + 4, t->v[3]);
  wasm_v128_store(o0 + ci, t->v[0]); wasm_v128_store(o0 + ci + 4, t->v[1]);
}
INLINE void store4(const tile4* t, float* o0, float* o1, float* o2, float* o3, int ci) {
  wasm_v128_store(o3 + ci, t->v[3]); wasm_v128_store(o2 + ci, t->v[2]);
  wasm_v128_store(o1 + ci, t->v[1]); wasm_v128_store(o0 + ci, t->v[0]);
}
INLINE void store1(const tile1* t, float* o0, float* o1, float* o2, float* o3, int ci) {
  o3[ci] = t->v[3]; o2[ci] = t->v[2]; o1[ci] = t->v[1]; o0[ci] = t->v[0];
}

/*
 * For every channel block of a 4-pixel tile: zero the tile, let TAPS add each applicable tap's run
 * (TAPS calls FMA(tile, d0, d1, d2, d3, f, n, fs) with f pointing at channel ci), then store.
 */
#define TILE_CHANNELS(Cin, o0, o1, o2, o3, TAPS)                                        \
  do {                                                                               \
    int ci = 0;                                                                      \
    for (; ci + 8 <= (Cin); ci += 8) {                                               \
      tile8 t = {{wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), \
                  wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f)}}; \
      TAPS(fma4x8, &t);                                                              \
      store8(&t, o0, o1, o2, o3, ci);                                                \
    }                                                                                \
    for (; ci + 4 <= (Cin); ci += 4) {                                               \
      tile4 t = {{wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f)}}; \
      TAPS(fma4x4, &t);                                                              \
      store4(&t, o0, o1, o2, o3, ci);                                                \
    }                                                                                \
    for (; ci < (Cin); ci++) {                                                       \
      tile1 t = {{0.0f, 0.0f, 0.0f, 0.0f}};                                          \
      TAPS(fma4x1, &t);                                                              \
      store1(&t, o0, o1, o2, o3, ci);                                                \
    }                                                                                \
  } while (0)

/*
 * Input gradient: dx[n,ih,iw,ci] = Σ_{kh,kw,co} dy[n,oh,ow,co] · filter[kh,kw,ci,co] over the taps
 * with oh = (ih + pt − kh)/sh and ow = (iw + pl − kw)/sw integral and in range.
 *
 * `ft` is the filter with kw reversed and the channel axes swapped, ft[kh][KW−1−kw][co][ci]
 * (prepare_input_grad_filter; it is small), so a register tile of 4 input pixels × 8 input channels
 * reads contiguous channel vectors. The 4 pixels of a tile are sw apart (same phase modulo the
 * stride), so they share their taps and read 4 consecutive dy pixels; tiles touching the border go
 * one pixel at a time. With stride 1 the KW taps of a row read one contiguous run of KW·Cout dy
 * values (pixels iw+pl−KW+1 … iw+pl) against KW·Cout consecutive rows of ft[kh], so the inner loop
 * is one branch-free loop of KW·Cout steps.
 * dx is overwritten; no zero-inserted or padded copy of dy is made.
 */
/* Runs the statement given for every tap (kh, kw) that reaches input pixel (ih, iw), with d = its dy pixel (Cout values) and
   f = the tap's filter block ft[kh][KW−1−kw] ([Cout][Cin]). */
#define FOR_PIXEL_TAPS(...)                                                             \
  for (int kh = 0; kh < KH; kh++) {                                                     \
    const int th = ih + pt - kh;                                                        \
    if (th < 0 || th % sh != 0 || th / sh >= OH) continue;                             \
    for (int kw = 0; kw < KW; kw++) {                                                   \
      const int tw = iw + pl - kw;                                                      \
      if (tw < 0 || tw % sw != 0 || tw / sw >= OW) continue;                           \
      const float* d = dy + ((size_t)(n * OH + th / sh) * OW + tw / sw) * Cout;         \
      const float* f = ft + (size_t)(kh * KW + (KW - 1 - kw)) * Cout * Cin;             \
      __VA_ARGS__                                                                       \
    }                                                                                   \
  }

/* One input pixel (border pixels of the strided kernel): 8 channels at a time with two accumulator sets. */
static void cbi_pixel(const float* dy, const float* ft, float* dxp, int n, int ih, int iw, int Cin,
                      int OH, int OW, int Cout, int KH, int KW, int sh, int sw, int pt, int pl) {
  int ci = 0;
  for (; ci + 8 <= Cin; ci += 8) {
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, t0 = s0, t1 = s0;
    FOR_PIXEL_TAPS({
      const float* fc = f + ci;
      int co = 0;
      for (; co + 2 <= Cout; co += 2) {  /* two accumulator sets: four independent add chains */
        const v128_t dv = wasm_v128_load32_splat(d + co), dw = wasm_v128_load32_splat(d + co + 1);
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(dv, wasm_v128_load(fc)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(dv, wasm_v128_load(fc + 4)));
        t0 = wasm_f32x4_add(t0, wasm_f32x4_mul(dw, wasm_v128_load(fc + Cin)));
        t1 = wasm_f32x4_add(t1, wasm_f32x4_mul(dw, wasm_v128_load(fc + Cin + 4)));
        fc += 2 * Cin;
      }
      if (co < Cout) {
        const v128_t dv = wasm_v128_load32_splat(d + co);
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(dv, wasm_v128_load(fc)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(dv, wasm_v128_load(fc + 4)));
      }
    })
    wasm_v128_store(dxp + ci, wasm_f32x4_add(s0, t0));
    wasm_v128_store(dxp + ci + 4, wasm_f32x4_add(s1, t1));
  }
  for (; ci < Cin; ci++) {
    float s = 0.0f;
    FOR_PIXEL_TAPS({ for (int co = 0; co < Cout; co++) s += d[co] * f[(size_t)co * Cin + ci]; })
    dxp[ci] = s;
  }
}
#undef FOR_PIXEL_TAPS

EXPORT("conv2d_backprop_input")
void conv2d_backprop_input(const float* dy, const float* ft, float* dx, int N, int H, int W, int Cin,
                           int OH, int OW, int Cout, int KH, int KW, int sh, int sw, int pt, int pl) {
  for (int n = 0; n < N; n++) {
    for (int ih = 0; ih < H; ih++) {
      float* dxrow = dx + (size_t)(n * H + ih) * W * Cin;
      for (int phase = 0; phase < sw && phase < W; phase++) {
        /* Pixels iw = phase + j·sw. A tile of 4 starting at iw is "interior" when every tap that
           applies to this phase maps all 4 pixels to valid ow. */
        int iw = phase;
        while (iw < W) {
          int fast = iw + 3 * sw < W;
          if (fast) {
            for (int kw = 0; kw < KW && fast; kw++) {
              const int tw = iw + pl - kw;
              if ((tw % sw + sw) % sw != 0) continue;  /* tap does not apply to this phase */
              if (tw < 0 || tw / sw + 3 >= OW) fast = 0;
            }
          }
          if (!fast) {
            cbi_pixel(dy, ft, dxrow + (size_t)iw * Cin, n, ih, iw, Cin, OH, OW, Cout, KH, KW, sh, sw, pt, pl);
            iw += sw;
            continue;
          }
          float* o0 = dxrow + (size_t)iw * Cin;
          float* o1 = o0 + (size_t)sw * Cin;
          float* o2 = o1 + (size_t)sw * Cin;
          float* o3 = o2 + (size_t)sw * Cin;
          /* the 4 pixels read 4 consecutive dy pixels per applicable tap; with sw == 1 the KW taps of a
             row form one contiguous run of KW·Cout values (pixels iw+pl−KW+1 … iw+pl) */
#define CBI_TAPS(FMA, T)                                                                   \
          for (int kh = 0; kh < KH; kh++) {                                                \
            const int th = ih + pt - kh;                                                   \
            if (th < 0 || th % sh != 0 || th / sh >= OH) continue;                        \
            const float* row = dy + (size_t)(n * OH + th / sh) * OW * Cout;               \
            if (sw == 1) {                                                                 \
              const float* d = row + (size_t)(iw + pl - (KW - 1)) * Cout;                  \
              FMA(T, d, d + Cout, d + 2 * Cout, d + 3 * Cout, ft + (size_t)kh * KW * Cout * Cin + ci, KW * Cout, Cin); \
              continue;                                                                    \
            }                                                                              \
            for (int kw = 0; kw < KW; kw++) {                                              \
              const int tw = iw + pl - kw;                                                 \
              if (tw < 0 || tw % sw != 0) continue;                                        \
              const float* d = row + (size_t)(tw / sw) * Cout;                             \
              FMA(T, d, d + Cout, d + 2 * Cout, d + 3 * Cout, ft + (size_t)(kh * KW + (KW - 1 - kw)) * Cout * Cin + ci, Cout, Cin); \
            }                                                                              \
          }
          TILE_CHANNELS(Cin, o0, o1, o2, o3, CBI_TAPS);
#undef CBI_TAPS
          iw += 4 * sw;
        }
      }
    }
  }
}

/* filter [KH, KW, Cin, Cout] -> ft [KH, KW, Cout, Cin] with kw reversed: ft[kh][KW−1−kw][co][ci]. */
EXPORT("prepare_input_grad_filter")
void prepare_input_grad_filter(const float* filter, float* ft, int KH, int KW, int Cin, int Cout) {
  for (int kh = 0; kh < KH; kh++)
    for (int kw = 0; kw < KW; kw++) {
      const float* s = filter + (size_t)(kh * KW + kw) * Cin * Cout;
      float* d = ft + (size_t)(kh * KW + (KW - 1 - kw)) * Cout * Cin;
      for (int ci = 0; ci < Cin; ci++)
        for (int co = 0; co < Cout; co++) d[(size_t)co * Cin + ci] = s[(size_t)ci * Cout + co];
    }
}

/* ---------------------------------------------------------------------------------------------
 * Per-channel (last axis) kernels over a tensor seen as a contiguous [M, C] matrix: BatchNorm
 * normalisation, binary ops with a per-channel operand, and sums over the leading axes.
 * ------------------------------------------------------------------------------------------- */

/* y[m,c] = x[m,c]·a[c] + b[c] over a contiguous [M, C] matrix (the normalisation of both BatchNorm kernels). */
INLINE void channel_affine(const float* x, const float* a, const float* b, float* y, int M, int C) {
  const int cv = C & ~3;
  for (int m = 0; m < M; m++) {
    const float* xr = x + (size_t)m * C;
    float* yr = y + (size_t)m * C;
    int c = 0;
    for (; c < cv; c += 4) {
      wasm_v128_store(yr + c, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(xr + c), wasm_v128_load(a + c)), wasm_v128_load(b + c)));
    }
    for (; c < C; c++) yr[c] = xr[c] * a[c] + b[c];
  }
}

/*
 * FusedBatchNorm: y = (x − mean[c]) · scale[c] / sqrt(var[c] + eps) + offset[c], as y = x·a[c] + b[c].
 * `ab` is caller-provided scratch of 2·C floats. A null (0) offset or scale means 0 / 1.
 */
EXPORT("batch_norm")
void batch_norm(const float* x, const float* mean, const float* var, const float* offset, const float* scale,
                float* y, float* ab, int M, int C, float eps) {
  float* a = ab;
  float* b = ab + C;
  for (int c = 0; c < C; c++) {
    const float r = 1.0f / __builtin_sqrtf(var[c] + eps);
    const float g = scale ? scale[c] * r : r;
    a[c] = g;
    b[c] = (offset ? offset[c] : 0.0f) - mean[c] * g;
  }
  channel_affine(x, a, b, y, M, C);
}

/*
 * out[m,c] = op(full[m,c], v[c]) (or op(v[c], full[m,c]) when vector_first), op: 0 add, 1 sub, 2 mul, 3 div.
 */
EXPORT("channel_binary")
void channel_binary(const float* full, const float* v, float* out, int M, int C, int op, int vector_first) {
  const int cv = C & ~3;
  for (int m = 0; m < M; m++) {
    const float* xr = full + (size_t)m * C;
    float* o = out + (size_t)m * C;
    int c = 0;
    for (; c < cv; c += 4) {
      v128_t p = wasm_v128_load(xr + c), q = wasm_v128_load(v + c);
      if (vector_first) { const v128_t t = p; p = q; q = t; }
      v128_t r;
      switch (op) {
        case 0: r = wasm_f32x4_add(p, q); break;
        case 1: r = wasm_f32x4_sub(p, q); break;
        case 2: r = wasm_f32x4_mul(p, q); break;
        default: r = wasm_f32x4_div(p, q); break;
      }
      wasm_v128_store(o + c, r);
    }
    for (; c < C; c++) {
      float p = xr[c], q = v[c];
      if (vector_first) { const float t = p; p = q; q = t; }
      o[c] = op == 0 ? p + q : op == 1 ? p - q : op == 2 ? p * q : p / q;
    }
  }
}

/*
 * out[c] = scale · Σ_m x[m,c]. Blocks of 64 rows are summed in float32 lanes, each block total is
 * added to a float64 accumulator, 8 channels per pass (a 32-byte slice of every row).
 */
EXPORT("reduce_leading")
void reduce_leading(const float* x, float* out, int M, int C, double scale) {
  int c = 0;
  for (; c + 8 <= C; c += 8) {
    v128_t t0 = wasm_f64x2_splat(0.0), t1 = t0, t2 = t0, t3 = t0;
    for (int m0 = 0; m0 < M; m0 += 64) {
      const int m1 = imin(M, m0 + 64);
      v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
      const float* p = x + (size_t)m0 * C + c;
      for (int m = m0; m < m1; m++) {
        s0 = wasm_f32x4_add(s0, wasm_v128_load(p));
        s1 = wasm_f32x4_add(s1, wasm_v128_load(p + 4));
        p += C;
      }
      t0 = wasm_f64x2_add(t0, wasm_f64x2_promote_low_f32x4(s0));
      t1 = wasm_f64x2_add(t1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(s0, s0, 2, 3, 0, 1)));
      t2 = wasm_f64x2_add(t2, wasm_f64x2_promote_low_f32x4(s1));
      t3 = wasm_f64x2_add(t3, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(s1, s1, 2, 3, 0, 1)));
    }
    const v128_t k = wasm_f64x2_splat(scale);
    v128_t lo = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(t0, k));
    v128_t hi = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(t1, k));
    wasm_v128_store(out + c, wasm_i32x4_shuffle(lo, hi, 0, 1, 4, 5));
    lo = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(t2, k));
    hi = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(t3, k));
    wasm_v128_store(out + c + 4, wasm_i32x4_shuffle(lo, hi, 0, 1, 4, 5));
  }
  for (; c < C; c++) {
    double t = 0.0;
    for (int m0 = 0; m0 < M; m0 += 64) {
      const int m1 = imin(M, m0 + 64);
      float s = 0.0f;
      for (int m = m0; m < m1; m++) s += x[(size_t)m * C + c];
      t += s;
    }
    out[c] = (float)(t * scale);
  }
}

/* out[m,c] = v[c]: a per-channel vector broadcast to [M, C] (the gradient of a mean over the leading axes). */
EXPORT("channel_fill")
void channel_fill(const float* v, float* out, int M, int C) {
  const int cv = C & ~3;
  for (int m = 0; m < M; m++) {
    float* o = out + (size_t)m * C;
    int c = 0;
    for (; c < cv; c += 4) wasm_v128_store(o + c, wasm_v128_load(v + c));
    for (; c < C; c++) o[c] = v[c];
  }
}

/*
 * Input gradient for stride 1 (any KH, KW, padding), on a copy of dy padded along the width:
 * dyp [N, OH, W + KW − 1, Cout] with dyp[.., j, ..] = dy[.., j − (KW − 1 − pl), ..] (zero outside dy),
 * made by pad_width. Then input pixel iw reads the contiguous run dyp[iw … iw + KW − 1] for every
 * kh: no border cases along the width, 4-pixel tiles everywhere, one branch-free loop of KW·Cout
 * steps per tap row. ft as for conv2d_backprop_input (kw reversed, [KH, KW, Cout, Cin]).
 */
EXPORT("pad_width")
void pad_width(const float* dy, float* dyp, int rows, int OW, int Cout, int left, int WP) {
  for (int r = 0; r < rows; r++) {
    const float* s = dy + (size_t)r * OW * Cout;
    float* d = dyp + (size_t)r * WP * Cout;
    for (int j = 0; j < WP; j++) {
      const int src = j - left;
      float* o = d + (size_t)j * Cout;
      if (src < 0 || src >= OW) {
        for (int c = 0; c < Cout; c++) o[c] = 0.0f;
      } else {
        const float* i = s + (size_t)src * Cout;
        for (int c = 0; c < Cout; c++) o[c] = i[c];
      }
    }
  }
}

EXPORT("conv2d_backprop_input_s1")
void conv2d_backprop_input_s1(const float* dyp, const float* ft, float* dx, int N, int H, int W, int Cin,
                              int OH, int Cout, int KH, int KW, int pt) {
  const int WP = W + KW - 1;
  const int run = KW * Cout;
  for (int n = 0; n < N; n++) {
    for (int ih = 0; ih < H; ih++) {
      float* dxrow = dx + (size_t)(n * H + ih) * W * Cin;
      int iw = 0;
      for (; iw < W; iw += 4) {
        const int np = W - iw >= 4 ? 4 : W - iw;  /* pixels in this tile; a short tile repeats its last pixel */
        const int i1 = np > 1 ? 1 : 0, i2 = np > 2 ? 2 : i1, i3 = np > 3 ? 3 : i2;
        float* o0 = dxrow + (size_t)iw * Cin;
        float* o1 = dxrow + (size_t)(iw + i1) * Cin;
        float* o2 = dxrow + (size_t)(iw + i2) * Cin;
        float* o3 = dxrow + (size_t)(iw + i3) * Cin;
#define S1_TAPS(FMA, T)                                                                    \
        for (int kh = 0; kh < KH; kh++) {                                                  \
          const int oh = ih + pt - kh;                                                     \
          if (oh < 0 || oh >= OH) continue;                                                \
          const float* d = dyp + ((size_t)(n * OH + oh) * WP + iw) * Cout;                 \
          FMA(T, d, d + (size_t)i1 * Cout, d + (size_t)i2 * Cout, d + (size_t)i3 * Cout,  \
              ft + (size_t)kh * KW * Cout * Cin + ci, run, Cin);                           \
        }
        TILE_CHANNELS(Cin, o0, o1, o2, o3, S1_TAPS);
#undef S1_TAPS
      }
    }
  }
}

/*
 * out = x[b0:b0+s0, b1:b1+s1, b2:b2+s2, b3:b3+s3] for a 4-D array of 4-byte elements of shape
 * [d0, d1, d2, d3], copied as contiguous runs (whole rows when the last axis is not cut).
 */
EXPORT("slice4d")
void slice4d(const float* x, float* out, int d1, int d2, int d3, int b0, int b1, int b2, int b3,
             int s0, int s1, int s2, int s3) {
  const int rows_whole = s3 == d3;
  for (int i0 = 0; i0 < s0; i0++) {
    for (int i1 = 0; i1 < s1; i1++) {
      const float* src = x + (((size_t)(b0 + i0) * d1 + (b1 + i1)) * d2 + b2) * d3 + b3;
      if (rows_whole) {
        __builtin_memcpy(out, src, (size_t)s2 * d3 * sizeof(float));
        out += (size_t)s2 * d3;
      } else {
        for (int i2 = 0; i2 < s2; i2++) {
          __builtin_memcpy(out, src + (size_t)i2 * d3, (size_t)s3 * sizeof(float));
          out += s3;
        }
      }
    }
  }
}

/* dst[KH−1−kh] = src[kh] for blocks of `block` floats (the filter of a forward convolution run
   through conv2d_backprop_input_s1). */
EXPORT("reverse_blocks")
void reverse_blocks(const float* src, float* dst, int blocks, int block) {
  for (int b = 0; b < blocks; b++) __builtin_memcpy(dst + (size_t)(blocks - 1 - b) * block, src + (size_t)b * block, (size_t)block * sizeof(float));
}

/* ---------------------------------------------------------------------------------------------
 * Matrix product C = op(A)·op(B) for a batch of float32 matrices, blocked and packed.
 *   op(A) is M×K (A stored M×K, or K×M when transA), op(B) is K×N (B stored K×N, or N×K when transB).
 * Batches: A, B and C advance by strideA, strideB (0 = one B shared by every batch), strideC floats.
 * The K×N block of B is packed into KC×8 column panels and the M block of A into 4-row panels
 * (zero-filled past the edges), so the 4×8 register kernel reads both contiguously; `pack` is
 * caller-provided scratch of at least GEMM_SCRATCH floats. C is overwritten.
 * ------------------------------------------------------------------------------------------- */
#define GEMM_MC 64
#define GEMM_KC 256
#define GEMM_NC 512
/* packed B (KC×NC) + packed A (MC×KC) + one 4×8 edge tile */
#define GEMM_SCRATCH (GEMM_KC * GEMM_NC + GEMM_MC * GEMM_KC + 32)

EXPORT("gemm_scratch_floats")
int gemm_scratch_floats(void) { return GEMM_SCRATCH; }

/*
 * Packs lines l0 … l0+lc−1 of a matrix, k0 … k0+kc−1 along each line, into panels of `width` lines:
 * dst[p·kc·width + k·width + j] = X(l0 + p·width + j, k0 + k), zero past lc. X(l, k) is X[l·ld + k] when
 * `lmajor`, else X[k·ld + l]. For B the lines are op(B)'s columns (lmajor = transB, width 8); for A they
 * are op(A)'s rows (lmajor = !transA, width 4).
 */
static void pack_panels(const float* X, float* dst, int lmajor, int ld, int l0, int lc, int k0, int kc, int width) {
  for (int p = 0; p * width < lc; p++) {
    float* d = dst + (size_t)p * kc * width;
    const int lines = imin(width, lc - p * width);
    for (int k = 0; k < kc; k++) {
      for (int j = 0; j < width; j++) {
        float v = 0.0f;
        if (j < lines) {
          const int l = l0 + p * width + j, kk = k0 + k;
          v = lmajor ? X[(size_t)l * ld + kk] : X[(size_t)kk * ld + l];
        }
        d[k * width + j] = v;
      }
    }
  }
}

EXPORT("gemm")
void gemm(const float* A, const float* B, float* C, int batch, int M, int K, int N, int transA, int transB,
          int strideA, int strideB, int strideC, float* pack) {
  float* pb = pack;
  float* pa = pack + GEMM_KC * GEMM_NC;
  float* edge = pa + GEMM_MC * GEMM_KC;
  const int lda = transA ? M : K;
  const int ldb = transB ? K : N;
  for (int bi = 0; bi < batch; bi++) {
    const float* a = A + (size_t)bi * strideA;
    const float* b = B + (size_t)bi * strideB;
    float* c = C + (size_t)bi * strideC;
    if (K == 0) {
      for (int i = 0; i < M * N; i++) c[i] = 0.0f;
      continue;
    }
    for (int n0 = 0; n0 < N; n0 += GEMM_NC) {
      const int nc = imin(GEMM_NC, N - n0);
      for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        const int kc = imin(GEMM_KC, K - k0);
        pack_panels(b, pb, transB, ldb, n0, nc, k0, kc, 8);
        for (int m0 = 0; m0 < M; m0 += GEMM_MC) {
          const int mc = imin(GEMM_MC, M - m0);
          pack_panels(a, pa, !transA, lda, m0, mc, k0, kc, 4);
          for (int i = 0; i * 4 < mc; i++) {
            const int rows = imin(4, mc - i * 4);
            const float* ap = pa + (size_t)i * kc * 4;
            for (int j = 0; j * 8 < nc; j++) {
              const int cols = imin(8, nc - j * 8);
              const float* bp = pb + (size_t)j * kc * 8;
              const v128_t z = wasm_f32x4_splat(0.0f);
              tile8 t = {{z, z, z, z, z, z, z, z}};
              rank1_4x8(&t, ap, ap + 1, ap + 2, ap + 3, 4, bp, 8, kc);
              v128_t c00 = t.v[0], c01 = t.v[1], c10 = t.v[2], c11 = t.v[3];
              v128_t c20 = t.v[4], c21 = t.v[5], c30 = t.v[6], c31 = t.v[7];
              float* ct = c + (size_t)(m0 + i * 4) * N + n0 + j * 8;
              if (rows == 4 && cols == 8) {
                if (k0 > 0) {
                  c00 = wasm_f32x4_add(c00, wasm_v128_load(ct)); c01 = wasm_f32x4_add(c01, wasm_v128_load(ct + 4));
                  c10 = wasm_f32x4_add(c10, wasm_v128_load(ct + N)); c11 = wasm_f32x4_add(c11, wasm_v128_load(ct + N + 4));
                  c20 = wasm_f32x4_add(c20, wasm_v128_load(ct + 2 * N)); c21 = wasm_f32x4_add(c21, wasm_v128_load(ct + 2 * N + 4));
                  c30 = wasm_f32x4_add(c30, wasm_v128_load(ct + 3 * N)); c31 = wasm_f32x4_add(c31, wasm_v128_load(ct + 3 * N + 4));
                }
                wasm_v128_store(ct, c00); wasm_v128_store(ct + 4, c01);
                wasm_v128_store(ct + N, c10); wasm_v128_store(ct + N + 4, c11);
                wasm_v128_store(ct + 2 * N, c20); wasm_v128_store(ct + 2 * N + 4, c21);
                wasm_v128_store(ct + 3 * N, c30); wasm_v128_store(ct + 3 * N + 4, c31);
              } else {
                wasm_v128_store(edge, c00); wasm_v128_store(edge + 4, c01);
                wasm_v128_store(edge + 8, c10); wasm_v128_store(edge + 12, c11);
                wasm_v128_store(edge + 16, c20); wasm_v128_store(edge + 20, c21);
                wasm_v128_store(edge + 24, c30); wasm_v128_store(edge + 28, c31);
                for (int r = 0; r < rows; r++)
                  for (int q = 0; q < cols; q++) {
                    const float v = edge[r * 8 + q];
                    ct[(size_t)r * N + q] = k0 > 0 ? ct[(size_t)r * N + q] + v : v;
                  }
              }
            }
          }
        }
      }
    }
  }
}

/*
 * y = exp(x), float32, 4 lanes at a time: x = n·ln2 + r with n = round(x·log2 e) and |r| ≤ ln2/2 (ln2 split in
 * two parts for exactness), exp(r) by the degree-5 minimax polynomial of Cephes' expf, then ·2^n applied as
 * 2^⌊n/2⌋·2^(n−⌊n/2⌋) so that results in the subnormal range and overflow to +inf come out right. x is clamped
 * to [−104, 88.8] first (beyond that the result is 0 or +inf anyway); NaN propagates. Relative error ≲ 2e-7.
 */
INLINE v128_t exp4(v128_t x) {
  const v128_t xc = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-104.0f)), wasm_f32x4_splat(88.8f));
  const v128_t fx = wasm_f32x4_nearest(wasm_f32x4_mul(xc, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(xc, wasm_f32x4_mul(fx, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(fx, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p, wasm_f32x4_mul(r, r)), r), wasm_f32x4_splat(1.0f));
  const v128_t n = wasm_i32x4_trunc_sat_f32x4(fx);
  const v128_t n1 = wasm_i32x4_shr(n, 1);
  const v128_t n2 = wasm_i32x4_sub(n, n1);
  const v128_t bias = wasm_i32x4_splat(127);
  const v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(n1, bias), 23);
  const v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(n2, bias), 23);
  return wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
}

EXPORT("exp_f32")
void exp_f32(const float* x, float* y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, exp4(wasm_v128_load(x + i)));
  if (i < n) {
    const int left = n - i;
    const v128_t v = wasm_f32x4_make(x[i], left > 1 ? x[i + 1] : 0.0f, left > 2 ? x[i + 2] : 0.0f, 0.0f);
    const v128_t e = exp4(v);
    y[i] = wasm_f32x4_extract_lane(e, 0);
    if (left > 1) y[i + 1] = wasm_f32x4_extract_lane(e, 1);
    if (left > 2) y[i + 2] = wasm_f32x4_extract_lane(e, 2);
  }
}

/*
 * The two sums of the BatchNorm gradient over a [M, C] pair x, dy: t[c] = Σ_m dy, t[C + c] = Σ_m (x − mean)·dy, taken
 * in float32 over 64-row blocks (b1, b2: C floats each) added into the float64 totals t (2·C doubles).
 */
INLINE void grad_sums(const float* x, const float* mean, const float* dy, float* b1, float* b2, double* t, int M, int C) {
  for (int c = 0; c < 2 * C; c++) t[c] = 0.0;
  const int cv = C & ~3;
  for (int m0 = 0; m0 < M; m0 += 64) {
    const int m1 = imin(M, m0 + 64);
    for (int c = 0; c < C; c++) { b1[c] = 0.0f; b2[c] = 0.0f; }
    for (int m = m0; m < m1; m++) {
      const float* xr = x + (size_t)m * C;
      const float* dr = dy + (size_t)m * C;
      int c = 0;
      for (; c < cv; c += 4) {
        const v128_t d = wasm_v128_load(dr + c);
        const v128_t xc = wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(mean + c));
        wasm_v128_store(b1 + c, wasm_f32x4_add(wasm_v128_load(b1 + c), d));
        wasm_v128_store(b2 + c, wasm_f32x4_add(wasm_v128_load(b2 + c), wasm_f32x4_mul(xc, d)));
      }
      for (; c < C; c++) { b1[c] += dr[c]; b2[c] += (xr[c] - mean[c]) * dr[c]; }
    }
    for (int c = 0; c < C; c++) { t[c] += b1[c]; t[C + c] += b2[c]; }
  }
}

/*
 * The two per-channel sums of the BatchNorm gradient in one pass over x and dy ([M, C]):
 *   out[c] = Σ_m dy[m,c],   out[C + c] = Σ_m (x[m,c] − mean[c])·dy[m,c].
 * Row by row into float32 block sums (64 rows) kept in `scratch` (2·C floats + 2·C doubles, 8-byte aligned),
 * which are added into float64 totals after each block.
 */
EXPORT("bn_grad_sums")
void bn_grad_sums(const float* x, const float* mean, const float* dy, float* out, float* scratch, int M, int C) {
  float* b1 = scratch;
  float* b2 = scratch + C;
  double* t = (double*)(scratch + 2 * C);  /* 2·C doubles after the 2·C floats: 8-byte aligned */
  grad_sums(x, mean, dy, b1, b2, t, M, C);
  for (int c = 0; c < 2 * C; c++) out[c] = (float)t[c];
}

/*
 * BatchNorm in training mode, forward (the kernel BatchNormTraining): over a float32 [M, C] tensor x,
 *   mean[c] = Σ_m x[m,c] / M,   var[c] = Σ_m (x[m,c] − mean[c])² / M   (biased, as tf.moments),
 *   y[m,c]  = x[m,c]·a[c] + b[c],   a = scale·r, b = offset − mean·a, r = 1/√(var + eps)   (as batch_norm above),
 * in two passes over x (one read for the statistics, one read + write for y) instead of the five of
 * tf.moments + FusedBatchNorm. The statistics are sums of x − x[0,c] (a shift that keeps Σ(x − k)² − (Σ(x − k))²/M
 * free of cancellation when |mean| ≫ std), taken in float32 over 64-row blocks and added into float64 totals.
 * `scratch`: 9·C floats, 8-byte aligned (2·C doubles, then 5·C floats).
 */
EXPORT("bn_train_forward")
void bn_train_forward(const float* x, const float* scale, const float* offset, float* y, float* mean, float* var,
                      float* scratch, int M, int C, float eps) {
  double* t = (double*)scratch;
  float* b1 = scratch + 4 * C;
  float* b2 = scratch + 5 * C;
  float* k = scratch + 6 * C;
  float* a = scratch + 7 * C;
  float* b = scratch + 8 * C;
  for (int c = 0; c < 2 * C; c++) t[c] = 0.0;
  for (int c = 0; c < C; c++) k[c] = M > 0 ? x[c] : 0.0f;
  const int cv = C & ~3;
  for (int m0 = 0; m0 < M; m0 += 64) {
    const int m1 = imin(M, m0 + 64);
    for (int c = 0; c < C; c++) { b1[c] = 0.0f; b2[c] = 0.0f; }
    for (int m = m0; m < m1; m++) {
      const float* xr = x + (size_t)m * C;
      int c = 0;
      for (; c < cv; c += 4) {
        const v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(k + c));
        wasm_v128_store(b1 + c, wasm_f32x4_add(wasm_v128_load(b1 + c), d));
        wasm_v128_store(b2 + c, wasm_f32x4_add(wasm_v128_load(b2 + c), wasm_f32x4_mul(d, d)));
      }
      for (; c < C; c++) { const float d = xr[c] - k[c]; b1[c] += d; b2[c] += d * d; }
    }
    for (int c = 0; c < C; c++) { t[c] += b1[c]; t[C + c] += b2[c]; }
  }
  for (int c = 0; c < C; c++) {
    const double s = t[c] / M;                   /* mean − k (NaN for M = 0, as tf.mean of nothing) */
    double v = t[C + c] / M - s * s;
    if (v < 0.0) v = 0.0;
    mean[c] = (float)(k[c] + s);
    var[c] = (float)v;
    const float r = 1.0f / __builtin_sqrtf(var[c] + eps);
    a[c] = scale[c] * r;
    b[c] = offset[c] - mean[c] * a[c];
  }
  channel_affine(x, a, b, y, M, C);
}

/*
 * BatchNorm in training mode, backward (the kernel BatchNormTrainingGrad): the gradient of bn_train_forward's three
 * outputs with respect to x, scale and offset, the batch statistics being functions of x. With r = 1/√(var + eps),
 * g = scale·r, S1 = Σ_m dy, S2 = Σ_m (x − mean)·dy and the gradients dmean, dvar reaching the mean and variance outputs:
 *   dx = dy·g + (x − mean)·(2·dvar − g·r²·S2)/M + (dmean − g·S1)/M,   dscale = r·S2,   doffset = S1,
 * in two passes (one read of x and dy for S1, S2 — float32 64-row blocks into float64 — one read of both + write of dx).
 * `scratch`: 7·C floats, 8-byte aligned (2·C doubles, then 3·C floats).
 */
EXPORT("bn_train_backward")
void bn_train_backward(const float* x, const float* dy, const float* mean, const float* var, const float* scale,
                       const float* dmean, const float* dvar, float* dx, float* dscale, float* doffset,
                       float* scratch, int M, int C, float eps) {
  double* t = (double*)scratch;
  float* b1 = scratch + 4 * C;
  float* b2 = scratch + 5 * C;
  float* kk = scratch + 6 * C;
  grad_sums(x, mean, dy, b1, b2, t, M, C);
  /* per channel: b1 ← g, kk ← coefficient of (x − mean), b2 ← constant term */
  for (int c = 0; c < C; c++) {
    const float r = 1.0f / __builtin_sqrtf(var[c] + eps);
    const double g = (double)scale[c] * r;
    const double s1 = t[c], s2 = t[C + c];
    dscale[c] = (float)(r * s2);
    doffset[c] = (float)s1;
    b1[c] = (float)g;
    kk[c] = (float)((2.0 * dvar[c] - g * r * r * s2) / M);
    b2[c] = (float)((dmean[c] - g * s1) / M);
  }
  const int cv = C & ~3;
  for (int m = 0; m < M; m++) {
    const float* xr = x + (size_t)m * C;
    const float* dr = dy + (size_t)m * C;
    float* o = dx + (size_t)m * C;
    int c = 0;
    for (; c < cv; c += 4) {
      const v128_t xc = wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(mean + c));
      const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(dr + c), wasm_v128_load(b1 + c)),
                                      wasm_f32x4_add(wasm_f32x4_mul(xc, wasm_v128_load(kk + c)), wasm_v128_load(b2 + c)));
      wasm_v128_store(o + c, v);
    }
    for (; c < C; c++) o[c] = dr[c] * b1[c] + ((xr[c] - mean[c]) * kk[c] + b2[c]);
  }
}

/*
 * Gradient of Relu (the kernel ReluGrad): dx = dy·step(x), step(x) = 1 for x > 0, 0 otherwise and NaN for NaN, as
 * tfjs's Relu gradient (mul(dy, step(x))) in one pass instead of two, n elements.
 */
EXPORT("relu_grad")
void relu_grad(const float* dy, const float* x, float* dx, int n) {
  const int nv = n & ~3;
  const v128_t one = wasm_f32x4_splat(1.0f);
  int i = 0;
  for (; i < nv; i += 4) {
    const v128_t xv = wasm_v128_load(x + i);
    /* 1 where x > 0, x itself where x is NaN (so the product is NaN), 0 elsewhere */
    const v128_t step = wasm_v128_or(wasm_v128_and(one, wasm_f32x4_gt(xv, wasm_f32x4_splat(0.0f))),
                                     wasm_v128_and(xv, wasm_f32x4_ne(xv, xv)));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < n; i++) {
    const float v = x[i];
    dx[i] = dy[i] * (v > 0.0f ? 1.0f : (v != v ? v : 0.0f));
  }
}
