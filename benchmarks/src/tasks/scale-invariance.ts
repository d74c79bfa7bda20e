/**
 * The scale-invariance illustration of the ASAM paper (Kwon et al. 2021, Fig. 1 and Fig. 3), computed
 * with @asam/core.
 *
 * Loss: a two-parameter "linear unit" fitted to one example, L(w) = ½ (w1·w2 − c)². Any
 * A = diag(a, 1/a) leaves it unchanged: L(A w) = L(w). We compare w = (1, 1) and A w with
 * A = diag(3, 1/3):
 * - sharpness max_{‖ε‖₂ ≤ ρ} L(w + ε) − L(w) (SAM's region, a ρ-ball) differs between w and A w;
 * - adaptive sharpness max_{‖T_w⁻¹ ε‖₂ ≤ ρ} L(w + ε) − L(w), T_w = diag(|w| + η) (ASAM's region, an
 *   ellipse) is the same up to η.
 * Both are measured with @asam/core (`sharpness`, `adaptiveSharpness`) and checked against a brute
 * force search over the region. Then SGD, SAM and ASAM (the @asam/core optimizer wrapping
 * tf.train.sgd) are run from one start point and their trajectories recorded.
 * Config: { target, a, rho, eta, lr, steps, start: [w1, w2], rhoTrain: {sam, asam}, grid }.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adaptiveSharpness, sharpness, sharpnessAware } from '@asam/core';
import type { TaskContext } from './types.ts';
import { RunFolder } from '@asam/train/run-folder';

interface Cfg {
  target: number;
  a: number;
  rho: number;
  eta: number;
  lr: number;
  steps: number;
  start: [number, number];
  rhoTrain: { sam: number; asam: number };
  range: [number, number];
  grid: number;
  seed?: number;
}

export const DEFAULTS: Cfg = {
  target: 2, a: 3, rho: 0.5, eta: 0.01, lr: 0.02, steps: 400, start: [2.8, 0.15], rhoTrain: { sam: 0.2, asam: 0.2 }, range: [-0.5, 3.6], grid: 61,
};

/** L(w) = ½ (w1·w2 − c)² in plain JS (for the brute-force reference and the contour grid). */
export function toyLoss(w1: number, w2: number, c: number): number {
  const r = w1 * w2 - c;
  return 0.5 * r * r;
}

/**
 * Brute-force maximum of L(w + ε) − L(w) over the region {ε = T u : ‖u‖₂ ≤ ρ} (T = diag(t1, t2)),
 * by scanning radii and angles. Returns the maximiser too.
 */
export function bruteForceSharpness(w: [number, number], t: [number, number], rho: number, c: number, n = 720): { value: number; eps: [number, number] } {
  const l0 = toyLoss(w[0], w[1], c);
  let best = 0;
  let arg: [number, number] = [0, 0];
  for (let ri = 1; ri <= 40; ri++) {
    const r = (rho * ri) / 40;
    for (let k = 0; k < n; k++) {
      const th = (2 * Math.PI * k) / n;
      const e: [number, number] = [t[0] * r * Math.cos(th), t[1] * r * Math.sin(th)];
      const v = toyLoss(w[0] + e[0], w[1] + e[1], c) - l0;
      if (v > best) {
        best = v;
        arg = e;
      }
    }
  }
  return { value: best, eps: arg };
}

let varCount = 0;
function makeVars(w: [number, number]): [tf.Variable, tf.Variable] {
  // Names end in "kernel" (+ a unique suffix) so ASAM's default filter normalizes both (biases would get T = 1).
  varCount++;
  return [tf.variable(tf.tensor1d([w[0]]), true, `toy${varCount}/w1/kernel`), tf.variable(tf.tensor1d([w[1]]), true, `toy${varCount}/w2/kernel`)];
}

function lossFn(v: [tf.Variable, tf.Variable], c: number): () => tf.Scalar {
  return () => tf.tidy(() => tf.mul(0.5, tf.square(tf.sub(tf.sum(tf.mul(v[0], v[1])), c))) as tf.Scalar);
}

/** The toy reads no data files. */
export function dataFiles(): string[] {
  return [];
}

/** Measures both points, runs the three trajectories and writes result.json (with the contour grid for the plots). */
export async function run(ctx: TaskContext): Promise<void> {
  const t0 = performance.now();
  const cfg: Cfg = { ...DEFAULTS, ...(ctx.config as Partial<Cfg>) };
  const c = cfg.target;
  const w: [number, number] = [1, 1];
  const aw: [number, number] = [cfg.a * w[0], w[1] / cfg.a];
  const points = [];
  for (const [name, p] of [['w', w], ['Aw', aw]] as const) {
    const vars = makeVars(p);
    const f = lossFn(vars, c);
    const sam = sharpness(f, vars, { rho: cfg.rho, steps: 20 });
    const asamS = adaptiveSharpness(f, vars, { rho: cfg.rho, eta: cfg.eta, steps: 20 });
    const tAd: [number, number] = [Math.abs(p[0]) + cfg.eta, Math.abs(p[1]) + cfg.eta];
    const bfSam = bruteForceSharpness(p, [1, 1], cfg.rho, c);
    const bfAsam = bruteForceSharpness(p, tAd, cfg.rho, c);
    points.push({
      name, w: p, loss: toyLoss(p[0], p[1], c),
      sharpness: sam, adaptiveSharpness: asamS,
      sharpnessBruteForce: bfSam.value, adaptiveSharpnessBruteForce: bfAsam.value,
      samMaximiser: bfSam.eps, asamMaximiser: bfAsam.eps,
      asamEllipseSemiAxes: [cfg.rho * tAd[0], cfg.rho * tAd[1]],
    });
    ctx.log(`${name}=(${p.map((x) => x.toFixed(3)).join(', ')}): L=${toyLoss(p[0], p[1], c).toFixed(4)} sharpness=${sam.toFixed(4)} (brute force ${bfSam.value.toFixed(4)}) adaptive=${asamS.toFixed(4)} (brute force ${bfAsam.value.toFixed(4)})`);
    tf.dispose(vars);
  }

  const trajectories: Record<string, Array<[number, number]>> = {};
  const finalLoss: Record<string, number> = {};
  for (const method of ['none', 'sam', 'asam'] as const) {
    const vars = makeVars(cfg.start);
    const f = lossFn(vars, c);
    const rho = method === 'none' ? 0 : cfg.rhoTrain[method];
    const opt = sharpnessAware(tf.train.sgd(cfg.lr), { method, rho, eta: cfg.eta });
    const pathPts: Array<[number, number]> = [[cfg.start[0], cfg.start[1]]];
    for (let s = 0; s < cfg.steps; s++) {
      const l = opt.minimize(f, true, vars);
      l?.dispose();
      pathPts.push([vars[0].dataSync()[0]!, vars[1].dataSync()[0]!]);
    }
    const name = method === 'none' ? 'sgd' : method;
    trajectories[name] = pathPts;
    const last = pathPts[pathPts.length - 1]!;
    finalLoss[name] = toyLoss(last[0], last[1], c);
    ctx.log(`${name}: ${cfg.steps} steps from (${cfg.start.join(', ')}) → (${last.map((x) => x.toFixed(3)).join(', ')}), L=${finalLoss[name]!.toExponential(3)}`);
    opt.dispose();
    tf.dispose(vars);
  }

  const xs = Array.from({ length: cfg.grid }, (_, i) => cfg.range[0] + ((cfg.range[1] - cfg.range[0]) * i) / (cfg.grid - 1));
  const lossGrid = xs.map((y) => xs.map((x) => toyLoss(x, y, c)));
  new RunFolder(ctx.outDir).writeResultSync({
    status: 'completed', task: 'scale_invariance', config: cfg,
    loss: `L(w) = 0.5 * (w1*w2 - ${c})^2`, A: [[cfg.a, 0], [0, 1 / cfg.a]],
    points, trajectories, finalLoss, contour: { xs, ys: xs, values: lossGrid },
    wallTimeS: (performance.now() - t0) / 1000,
  });
}
