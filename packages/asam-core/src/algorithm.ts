/**
 * The sharpness-aware gradient, shared by SGD (method 'none'), SAM and ASAM.
 *
 *   1. g = dL/dw at w                       (clean pass; BatchNorm statistics update here)
 *   2. eps = rule(g, w)                     (see perturbation.ts)
 *   3. g' = dL/dw at w + eps                (perturbed pass)
 *   4. w restored exactly (copied back, not subtracted); with `bnStatistics: 'clean-pass'` (the default) the
 *      state a forward pass writes — any tf.Variable outside the optimized list that the clean pass assigns
 *      (BatchNorm moving statistics, found by watching it) and the state named in `guard` — restored to its
 *      post-clean-pass value; with `'both-passes'` none of it is restored (`bnStatistics` is the one policy
 *      for that state, found or named)
 *   5. descent gradient = clip(g') + weightDecay * w, handed to any base optimizer.
 *
 * With method 'none' only step 1 and 5 run, so SGD and SAM share this one code path; with
 * rho = 0 the perturbed pass sees w + 0 = w and the result equals the base optimizer's bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalizeFilterFor, resolveSharpnessConfig, type NormalizeFilter, type ResolvedSharpnessConfig, type SharpnessConfig } from './config.ts';
import { globalNorm, perturbation, type PerturbationRule } from './perturbation.ts';
import { activeScopeTracked, dataIdOf, isKept, registeredVariables } from './tfjs-internals.ts';

/**
 * Which slice of the batch a loss closure should evaluate: part `index` of `count` equal parts;
 * undefined = the whole batch. With m-sharpness m and micro-batching k, count = m·k and parts
 * i·k … i·k + k − 1 belong to m-sharpness part i. Parts are averaged with equal weights, so a
 * closure whose parts differ in size should weight its loss by (part size · count / batch size).
 */
export interface Part {
  index: number;
  count: number;
}

/** A loss closure. It must return a scalar; with `mSharpness > 1` or `microBatches > 1` it is called with the part to evaluate. */
export type LossFn = (part?: Part) => tf.Scalar;

/** State the perturbed pass must not change: a tf.Variable, or anything with read()/write() (tfjs-layers LayerVariable). */
export type Guardable = tf.Variable | { read(): tf.Tensor; write(value: tf.Tensor): unknown };

export interface GradientOptions {
  /**
   * State a forward pass writes besides the optimized variables, named explicitly (e.g. BatchNorm moving
   * mean/variance, or state only the perturbed pass writes). The config's `bnStatistics` decides which pass sets it,
   * exactly as for the state the clean pass writes, which is found automatically: `'clean-pass'` restores it to its
   * post-clean-pass value after each perturbed pass, `'both-passes'` keeps the perturbed pass's writes.
   */
  guard?: Guardable[];
  /** Which variables ASAM normalizes, as a function; it takes precedence over the config's named `normalizeParams`. */
  normalizeFilter?: NormalizeFilter;
  /** false: take the plain gradient this step (used by `every`). Default true. */
  perturb?: boolean;
  /**
   * The loss closure of the perturbed pass, when it differs from the clean pass's `f` only in side effects
   * (tfjs-layers' train step: the same loss without computing metrics). Default: `f`.
   */
  perturbedLoss?: LossFn;
}

export interface SharpnessAwareResult {
  /** Loss at w (mean over parts with m-sharpness). */
  loss: tf.Scalar;
  /** Descent gradient keyed by variable name. */
  grads: tf.NamedTensorMap;
  /** Loss at w + eps (mean over parts), or null when no perturbation was taken. */
  perturbedLoss: tf.Scalar | null;
}

/**
 * Builds the perturbation rule of a config; null for method 'none'. ASAM normalizes the variables that `filter`
 * accepts, or without it those the config's `normalizeParams` names.
 */
export function ruleFromConfig(config: SharpnessConfig, filter?: NormalizeFilter): PerturbationRule | null {
  const c = resolveSharpnessConfig(config);
  if (c.method === 'none') return null;
  return {
    rho: c.rho,
    p: c.p,
    normalize: c.method === 'asam' ? { eta: c.eta, normalization: c.normalization, filter: filter ?? normalizeFilterFor(c.normalizeParams) } : null,
  };
}

function isVariableLike(v: unknown): v is tf.Variable {
  return v != null && typeof (v as tf.Variable).assign === 'function' && typeof (v as tf.Variable).name === 'string';
}

/** Throws a clear error for an unusable variable list. */
export function checkVariables(vars: tf.Variable[]): void {
  if (!Array.isArray(vars) || vars.length === 0) {
    throw new Error('Invalid variable list: got an empty list; pass the trainable tf.Variables to optimize (for a tfjs-layers model: model.trainableWeights.map((w) => w.read() as tf.Variable)).');
  }
  const seen = new Set<string>();
  vars.forEach((v, i) => {
    if (!isVariableLike(v)) throw new Error(`Invalid variable list: element ${i} is not a tf.Variable (got ${typeof v}).`);
    if (!v.trainable) throw new Error(`Invalid variable list: '${v.name}' is not trainable; gradients are only taken with respect to trainable variables.`);
    if (seen.has(v.name)) throw new Error(`Invalid variable list: '${v.name}' appears twice.`);
    seen.add(v.name);
  });
}

function readGuard(g: Guardable): tf.Tensor {
  return isVariableLike(g) ? tf.clone(g) : tf.clone(g.read());
}

function writeGuard(g: Guardable, value: tf.Tensor): void {
  if (isVariableLike(g)) g.assign(value);
  else g.write(value);
}

/** Every registered variable except `exclude`, with the data it holds now. */
function stateIds(exclude: Set<tf.Variable>): Map<tf.Variable, object> {
  const out = new Map<tf.Variable, object>();
  for (const v of registeredVariables()) if (!exclude.has(v)) out.set(v, dataIdOf(v));
  return out;
}

/**
 * The registered variables outside `exclude` that were assigned since `before` was taken, and with
 * `created`, those registered since (a layer built by its first call creates and writes its state then).
 */
function writtenSince(before: Map<tf.Variable, object>, exclude: Set<tf.Variable>, created: boolean): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const v of registeredVariables()) {
    if (exclude.has(v)) continue;
    const id = before.get(v);
    if (id === undefined ? created : dataIdOf(v) !== id) out.push(v);
  }
  return out;
}

/**
 * Watches a loss closure for tensors it tf.keep()s. A closure that keeps tensors on every call (tfjs-layers'
 * train step keeps its metric tensors) would keep a second set in the perturbed pass, which its caller never
 * frees; `refuse()` disposes them and throws an error naming the supported way. It is called after the
 * gradient is taken, since a throw inside the forward pass would strand the tensors tfjs saved for backprop.
 */
function keepWatch(f: LossFn): { f: LossFn; refuse(): void } {
  const kept: tf.Tensor[] = [];
  return {
    f: (part) => {
      const tracked = activeScopeTracked();
      const from = tracked?.length ?? 0;
      const result = f(part);
      if (tracked !== undefined) kept.push(...tracked.slice(from).filter((t) => isKept(t) && t !== result && !t.isDisposed));
      return result;
    },
    refuse: () => {
      if (kept.length === 0) return;
      tf.dispose(kept);
      throw new Error(
        `The loss closure kept ${kept.length} tensor(s) with tf.keep(), so evaluating it a second time for the perturbed pass would keep them twice ` +
          "(tfjs-layers' fit()/fitDataset()/trainOnBatch() do this for compiled metrics). For a tfjs-layers model, create the optimizer with the model: " +
          'model.compile({ optimizer: asam(base, { rho }, { model }), ... }); in a custom loop, return only the loss from the closure.',
      );
    },
  };
}

function gradsInOrder(vars: tf.Variable[], grads: tf.NamedTensorMap): tf.Tensor[] {
  return vars.map((v) => {
    const g = grads[v.name];
    if (g == null) throw new Error(`No gradient for variable '${v.name}': the loss does not depend on it. Remove it from the variable list.`);
    return g;
  });
}

/**
 * The last stage of a step, for callers that average sharpness-aware gradients themselves (e.g.
 * over data-parallel workers): clip to `clipNorm` (global L2 norm), then add the coupled weight
 * decay `weightDecay·w`. Returns new tensors (or `grads` itself when neither applies); the caller
 * disposes both.
 */
export function descentGradient(grads: tf.Tensor[], vars: tf.Variable[], config: SharpnessConfig): tf.Tensor[] {
  const cfg = resolveSharpnessConfig(config);
  let out = grads;
  if (cfg.clipNorm != null) {
    const clip = cfg.clipNorm;
    const src = out;
    out = tf.tidy(() => {
      const factor = tf.minimum(1, tf.div(clip, tf.add(globalNorm(src), 1e-6)));
      return src.map((g) => tf.mul(g, factor));
    });
  }
  if (cfg.weightDecay > 0) {
    const src = out;
    out = tf.tidy(() => src.map((g, j) => tf.add(g, tf.mul(vars[j]!, cfg.weightDecay))));
    if (src !== grads) tf.dispose(src);
  }
  return out;
}

/**
 * Step 2 of the algorithm: eps = rule(g, w), where the ascent gradient g is the clean gradient plus
 * weightDecay·w when `weightDecayInAscent` is set. Caller disposes the result.
 */
function ascentPerturbation(grads: tf.Tensor[], vars: tf.Variable[], cfg: ResolvedSharpnessConfig, rule: PerturbationRule): tf.Tensor[] {
  return tf.tidy(() => {
    const ascent = cfg.weightDecayInAscent && cfg.weightDecay > 0 ? grads.map((x, j) => tf.add(x, tf.mul(vars[j]!, cfg.weightDecay))) : grads;
    return perturbation(ascent, vars, rule);
  });
}

/**
 * Steps 2–4 of the algorithm for a clean gradient computed elsewhere — in data-parallel training, the
 * size-weighted mean ḡ of the shards' clean gradients, i.e. the clean gradient of the whole batch:
 * eps = rule(ḡ, w) exactly as `sharpnessAwareGradients` computes it (weight decay in the ascent with
 * `weightDecayInAscent`), then w ← w + eps. The returned `restore()` copies back w — and with `bnStatistics:
 * 'clean-pass'` (the default) the `guard`ed state (BatchNorm moving statistics) — as they were when this was
 * called (the saved tensors, not eps subtracted), and frees the saved copies; with `'both-passes'` the guarded state
 * keeps what the perturbed pass wrote. Call it once, in a `finally`, after the gradient at w + eps.
 * `grads` are in `vars` order and stay the caller's. Throws for method 'none' (there is no perturbed pass).
 */
export function perturbWeights(
  grads: tf.Tensor[],
  vars: tf.Variable[],
  config: SharpnessConfig,
  opts: { guard?: Guardable[]; normalizeFilter?: NormalizeFilter } = {},
): () => void {
  const cfg = resolveSharpnessConfig(config);
  checkVariables(vars);
  const rule = ruleFromConfig(cfg, opts.normalizeFilter);
  if (rule == null) throw new Error("perturbWeights: method 'none' takes no perturbed pass; apply the clean gradient with descentGradient instead.");
  if (grads.length !== vars.length) throw new Error(`perturbWeights: got ${grads.length} gradients for ${vars.length} variables; pass one per variable, in the same order.`);
  const eps = ascentPerturbation(grads, vars, cfg, rule);
  const guard = cfg.bnStatistics === 'clean-pass' ? opts.guard ?? [] : [];
  const snapshot = vars.map((v) => tf.clone(v));
  const guarded = guard.map(readGuard);
  try {
    vars.forEach((v, j) => tf.tidy(() => v.assign(tf.add(v, eps[j]!))));
  } catch (e) {
    vars.forEach((v, j) => v.assign(snapshot[j]!));
    tf.dispose([...snapshot, ...guarded]);
    throw e;
  } finally {
    tf.dispose(eps);
  }
  let restored = false;
  return () => {
    if (restored) throw new Error('perturbWeights: restore() was already called for this perturbation.');
    restored = true;
    vars.forEach((v, j) => v.assign(snapshot[j]!));
    guard.forEach((g, j) => writeGuard(g, guarded[j]!));
    tf.dispose([...snapshot, ...guarded]);
  };
}

/** Parts first … first + n − 1 of `count`; [undefined] (the whole batch) when count is 1. */
function partsOf(first: number, n: number, count: number): (Part | undefined)[] {
  return count === 1 ? [undefined] : Array.from({ length: n }, (_, j) => ({ index: first + j, count }));
}

/**
 * Mean loss and mean gradient (in `vars` order) over `parts`, evaluated one part at a time so that
 * only one part's activations are alive at once; only the running sums are kept in between.
 */
function meanGradients(f: LossFn, vars: tf.Variable[], parts: (Part | undefined)[]): { value: tf.Scalar; grads: tf.Tensor[] } {
  let value: tf.Scalar | null = null;
  let sum: tf.Tensor[] | null = null;
  try {
    for (const part of parts) {
      const r = tf.variableGrads(() => f(part), vars);
      let g: tf.Tensor[];
      try {
        g = gradsInOrder(vars, r.grads);
      } catch (e) {
        tf.dispose([r.value, ...Object.values(r.grads)]);
        throw e;
      }
      if (value === null || sum === null) {
        value = r.value;
        sum = g;
      } else {
        const prevV: tf.Scalar = value;
        const prev: tf.Tensor[] = sum;
        value = tf.add(prevV, r.value) as tf.Scalar;
        sum = prev.map((s, j) => tf.add(s, g[j]!));
        tf.dispose([prevV, r.value, ...prev, ...g]);
      }
    }
  } catch (e) {
    tf.dispose([...(value ? [value] : []), ...(sum ?? [])]);
    throw e;
  }
  if (parts.length === 1) return { value: value!, grads: sum! };
  const n = parts.length;
  const mean = { value: tf.div(value!, n) as tf.Scalar, grads: sum!.map((s) => tf.div(s, n)) };
  tf.dispose([value!, ...sum!]);
  return mean;
}

/**
 * Loss at w and the sharpness-aware descent gradient (see the module comment for the algorithm).
 * Weights and guarded state are restored exactly even if the loss closure throws.
 * The caller disposes `loss`, `grads` and `perturbedLoss`.
 */
export function sharpnessAwareGradients(
  f: LossFn,
  vars: tf.Variable[],
  config: SharpnessConfig,
  opts: GradientOptions = {},
): SharpnessAwareResult {
  const cfg = resolveSharpnessConfig(config);
  checkVariables(vars);
  const rule = opts.perturb === false ? null : ruleFromConfig(cfg, opts.normalizeFilter);
  const keepCleanPassState = cfg.bnStatistics === 'clean-pass';
  // bnStatistics is the one policy for state a forward pass writes, found or named in `guard`
  const guard = keepCleanPassState ? opts.guard ?? [] : [];

  let loss: tf.Scalar;
  let descent: tf.Tensor[];
  let perturbedLoss: tf.Scalar | null = null;

  const k = cfg.microBatches;
  if (rule == null) {
    const r = meanGradients(f, vars, partsOf(0, k, k));
    loss = r.value;
    descent = r.grads;
  } else {
    const m = cfg.mSharpness;
    const losses: tf.Scalar[] = [];
    const plosses: tf.Scalar[] = [];
    let sum: tf.Tensor[] | null = null;
    try {
      const optimized = new Set(vars);
      const perturbedF = opts.perturbedLoss ?? f;
      for (let i = 0; i < m; i++) {
        const parts = partsOf(i * k, k, m * k);
        const beforeClean = stateIds(optimized);
        const clean = meanGradients(f, vars, parts);
        losses.push(clean.value);
        let eps: tf.Tensor[];
        try {
          eps = ascentPerturbation(clean.grads, vars, cfg, rule);
        } finally {
          tf.dispose(clean.grads);
        }
        // state the clean pass wrote (BatchNorm moving statistics) keeps its post-clean-pass value
        const written = keepCleanPassState ? writtenSince(beforeClean, optimized, true) : [];
        const writtenSet = new Set<unknown>(written);
        const state: Guardable[] = [...written, ...guard.filter((g) => !writtenSet.has(isVariableLike(g) ? g : g.read()))];
        const snapshot = vars.map((v) => tf.clone(v));
        const guarded = state.map(readGuard);
        const afterClean = stateIds(optimized);
        let g2list: tf.Tensor[];
        try {
          vars.forEach((v, j) => tf.tidy(() => v.assign(tf.add(v, eps[j]!))));
          const watch = keepWatch(perturbedF);
          const r = meanGradients(watch.f, vars, parts);
          plosses.push(r.value);
          g2list = r.grads;
          try {
            watch.refuse();
          } catch (e) {
            tf.dispose(g2list);
            throw e;
          }
        } finally {
          vars.forEach((v, j) => v.assign(snapshot[j]!));
          state.forEach((g, j) => writeGuard(g, guarded[j]!));
          tf.dispose([...snapshot, ...guarded, ...eps]);
        }
        const restored = new Set<unknown>(state);
        const unexpected = !keepCleanPassState ? [] : writtenSince(afterClean, optimized, false).filter((v) => !restored.has(v) && !guard.some((g) => !isVariableLike(g) && g.read() === v));
        if (unexpected.length > 0) {
          tf.dispose(g2list);
          throw new Error(
            `The perturbed pass wrote variable(s) ${unexpected.map((v) => `'${v.name}'`).join(', ')} that the clean pass did not write, so their ` +
              'post-clean-pass value is unknown; pass them in the guard option (guard: [...]) to keep their value from before the perturbed pass.',
          );
        }
        if (sum == null) sum = g2list;
        else {
          const prev: tf.Tensor[] = sum;
          sum = prev.map((s, j) => tf.add(s, g2list[j]!));
          tf.dispose([...prev, ...g2list]);
        }
      }
    } catch (e) {
      // weights and guarded state are already restored; free what this step produced so far
      tf.dispose([...losses, ...plosses, ...(sum ?? [])]);
      throw e;
    }
    const total = sum!;
    if (m > 1) {
      descent = total.map((s) => tf.div(s, m));
      tf.dispose(total);
      loss = tf.tidy(() => tf.div(tf.addN(losses), m) as tf.Scalar);
      perturbedLoss = tf.tidy(() => tf.div(tf.addN(plosses), m) as tf.Scalar);
      tf.dispose([...losses, ...plosses]);
    } else {
      descent = total;
      loss = losses[0]!;
      perturbedLoss = plosses[0]!;
    }
  }

  const finished = descentGradient(descent, vars, cfg);
  if (finished !== descent) tf.dispose(descent);
  descent = finished;
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, j) => {
    grads[v.name] = descent[j]!;
  });
  return { loss, grads, perturbedLoss };
}
