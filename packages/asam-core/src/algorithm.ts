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
 *
 * Steps 2–5 live in one place, {@link SharpnessAwareStep}: `ascend(g)` (2, and w ← w + eps) and `descend(g')`
 * (4 and 5). Everything that takes a step drives it: `sharpnessAwareGradients` (a loss closure, called with the part
 * and the pass), the optimizer's `minimize`/`computeGradients`, micro-batches and m-sharpness parts, and callers that
 * take the gradients elsewhere (data-parallel workers, through the optimizer's `beginStep`).
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

/** Which pass of a step a gradient is taken in: at w (`clean`) or at w + ε (`perturbed`). */
export type Pass = 'clean' | 'perturbed';

/** Options of a step ({@link sharpnessAwareStep}, {@link sharpnessAwareGradients}). */
export interface StepOptions {
  /**
   * State a forward pass writes besides the optimized variables, named explicitly (e.g. BatchNorm moving
   * mean/variance, or state only the perturbed pass writes). The config's `bnStatistics` decides which pass sets it:
   * `'clean-pass'` restores it to its value at ascend (after the clean pass) when the step descends, `'both-passes'`
   * keeps the perturbed pass's writes. `sharpnessAwareGradients` also finds the state the clean pass writes itself.
   */
  guard?: Guardable[];
  /** Which variables ASAM normalizes, as a function; it takes precedence over the config's named `normalizeParams`. */
  normalizeFilter?: NormalizeFilter;
  /** false: a plain step (no perturbed pass), e.g. the steps `every` skips. Default true. */
  perturb?: boolean;
}

/**
 * A loss closure. It must return a scalar. It is called with the part to evaluate (with `mSharpness > 1` or
 * `microBatches > 1`; undefined = the whole batch) and the pass it is evaluated in: `'clean'` at w, `'perturbed'` at
 * w + ε — so a closure need not count its calls to tell them apart.
 */
export type LossFn = (part: Part | undefined, pass: Pass) => tf.Scalar;

/** State the perturbed pass must not change: a tf.Variable, or anything with read()/write() (tfjs-layers LayerVariable). */
export type Guardable = tf.Variable | { read(): tf.Tensor; write(value: tf.Tensor): unknown };

/** Options of {@link sharpnessAwareGradients}: those of the step, and the perturbed pass's closure. */
export interface GradientOptions extends StepOptions {
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

/** The variable a guardable stands for (a LayerVariable's tf.Variable), so that one state is saved once. */
function guardKey(g: Guardable): unknown {
  return isVariableLike(g) ? g : g.read();
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
    f: (part, pass) => {
      const tracked = activeScopeTracked();
      const from = tracked?.length ?? 0;
      const result = f(part, pass);
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
 * Step 5 of the algorithm (the end of `SharpnessAwareStep.descend`): clip to `clipNorm` (global L2 norm), then add
 * the coupled weight decay `weightDecay·w`. Returns new tensors (or `grads` itself when neither applies); the caller
 * disposes both.
 */
function descentGradient(grads: tf.Tensor[], vars: tf.Variable[], config: SharpnessConfig): tf.Tensor[] {
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
 * One sharpness-aware step as explicit phases, for a caller that takes the gradients itself (the closure-driven
 * `sharpnessAwareGradients`, the optimizer's `minimize`, micro-batches, data-parallel workers all drive it):
 *
 *   for part i < parts (m-sharpness parts; 1 without):
 *     g_i  = gradient at w                      (clean pass; the caller's)
 *     ascend(g_i):   ε_i = rule(g_i, w) (+ weightDecay·w in the ascent with `weightDecayInAscent`); w and the guarded
 *                    state saved; w ← w + ε_i
 *     g'_i = gradient at w + ε_i                (perturbed pass; the caller's)
 *     descend(g'_i): w copied back exactly (not ε subtracted); with `bnStatistics: 'clean-pass'` the guarded state
 *                    copied back to its value at ascend; g'_i accumulated
 *   after the last part: descent = clip(Σ_i s_i g'_i) + weightDecay·w, with shares s_i (default 1/parts).
 *
 * A plain step (method 'none', `perturb: false`) has one part and no ascent: `descend(g)` with the clean gradient.
 * `pass` says which gradient the next call expects. Gradients are in `vars` order and stay the caller's. If the caller
 * fails between ascend and descend, `abort()` restores w and the guarded state and frees what the step holds.
 */
export class SharpnessAwareStep {
  /** Whether this step takes a perturbed pass. */
  readonly perturbs: boolean;
  /** Number of ascend/descend rounds: `mSharpness` when the step perturbs, otherwise 1. */
  readonly parts: number;
  private readonly cfg: ResolvedSharpnessConfig;
  private readonly rule: PerturbationRule | null;
  private readonly guard: Guardable[];
  private completed = 0;
  /** Saved w and guarded state between ascend and descend; null outside. */
  private saved: { weights: tf.Tensor[]; state: Guardable[]; values: tf.Tensor[] } | null = null;
  private sum: tf.Tensor[] | null = null;
  private shares: 'equal' | 'given' | null = null;
  private finished = false;

  constructor(
    readonly vars: tf.Variable[],
    config: SharpnessConfig,
    opts: StepOptions = {},
    private readonly onDescent?: (descent: tf.Tensor[]) => void,
  ) {
    this.cfg = resolveSharpnessConfig(config);
    checkVariables(vars);
    this.rule = opts.perturb === false ? null : ruleFromConfig(this.cfg, opts.normalizeFilter);
    this.perturbs = this.rule !== null;
    this.parts = this.perturbs ? this.cfg.mSharpness : 1;
    // bnStatistics is the one policy for state a forward pass writes, found or named in `guard`
    this.guard = this.cfg.bnStatistics === 'clean-pass' ? opts.guard ?? [] : [];
  }

  /** Parts whose descend has been called. */
  get part(): number {
    return this.completed;
  }

  /** The pass whose gradient the next call takes: 'clean' (ascend, or descend on a plain step) or 'perturbed' (descend). */
  get pass(): Pass {
    return this.saved === null ? 'clean' : 'perturbed';
  }

  /** Whether the last part has been descended (or the step aborted). */
  get done(): boolean {
    return this.finished;
  }

  private check(grads: tf.Tensor[], what: string): void {
    if (this.finished) throw new Error(`SharpnessAwareStep.${what}: this step is finished; begin a new step.`);
    if (!Array.isArray(grads) || grads.length !== this.vars.length) {
      throw new Error(`SharpnessAwareStep.${what}: got ${Array.isArray(grads) ? grads.length : typeof grads} gradients for ${this.vars.length} variables; pass one per variable, in the same order.`);
    }
    grads.forEach((g, i) => {
      if (!tf.util.arraysEqual(g.shape, this.vars[i]!.shape)) {
        throw new Error(`SharpnessAwareStep.${what}: gradient ${i} has shape [${g.shape}], variable '${this.vars[i]!.name}' has [${this.vars[i]!.shape}].`);
      }
    });
  }

  /**
   * Ascent of the part in progress: ε = rule(g, w) from its clean gradient `cleanGrads`, w and the guarded state saved,
   * then w ← w + ε. `guard` adds state to save for this part only (what its clean pass wrote, found by the caller).
   */
  ascend(cleanGrads: tf.Tensor[], o: { guard?: Guardable[] } = {}): void {
    this.check(cleanGrads, 'ascend');
    if (this.rule === null) {
      throw new Error(`SharpnessAwareStep.ascend: this step takes no perturbed pass (${this.cfg.method === 'none' ? "method 'none'" : 'a plain step of every'}); call descend with the clean gradient.`);
    }
    if (this.saved !== null) throw new Error('SharpnessAwareStep.ascend: already ascended; call descend with the gradient at w + ε first.');
    const extra = this.cfg.bnStatistics === 'clean-pass' ? o.guard ?? [] : [];
    const keys = new Set<unknown>(extra.map(guardKey));
    const state = [...extra, ...this.guard.filter((g) => !keys.has(guardKey(g)))];
    const eps = ascentPerturbation(cleanGrads, this.vars, this.cfg, this.rule);
    const weights = this.vars.map((v) => tf.clone(v));
    const values = state.map(readGuard);
    try {
      this.vars.forEach((v, j) => tf.tidy(() => v.assign(tf.add(v, eps[j]!))));
    } catch (e) {
      this.vars.forEach((v, j) => v.assign(weights[j]!));
      tf.dispose([...weights, ...values]);
      throw e;
    } finally {
      tf.dispose(eps);
    }
    this.saved = { weights, state, values };
  }

  /** Copies back w and (under 'clean-pass') the guarded state saved by ascend, and frees the copies. */
  private restore(): void {
    const s = this.saved;
    if (s === null) return;
    this.saved = null;
    this.vars.forEach((v, j) => v.assign(s.weights[j]!));
    s.state.forEach((g, j) => writeGuard(g, s.values[j]!));
    tf.dispose([...s.weights, ...s.values]);
  }

  /**
   * Descent of the part in progress: restores w (and the guarded state) exactly when the step perturbs, then adds
   * `grads` — the gradient at w + ε, or the clean gradient on a plain step — to the step's descent gradient, weighted
   * by `share` (give it for every part or for none; default 1/parts). After the last part: the descent gradient,
   * clipped and with weight decay; a step begun by an optimizer (`beginStep`) applies it with the base optimizer and
   * returns null, otherwise it is returned and the caller disposes it. Before the last part: null.
   */
  descend(grads: tf.Tensor[], o: { share?: number } = {}): tf.Tensor[] | null {
    this.check(grads, 'descend');
    if (this.perturbs && this.saved === null) throw new Error('SharpnessAwareStep.descend: this step perturbs; call ascend with the clean gradient first.');
    this.restore();
    const mode = o.share === undefined ? 'equal' : 'given';
    if (this.shares !== null && this.shares !== mode) throw new Error('SharpnessAwareStep.descend: give share for every part or for none.');
    if (o.share !== undefined && !(Number.isFinite(o.share) && o.share >= 0)) throw new Error(`SharpnessAwareStep.descend: share ${o.share}; expected a finite number >= 0.`);
    this.shares = mode;
    const share = o.share;
    const next = tf.tidy(() => grads.map((g, j) => {
      const x = share === undefined ? g : tf.mul(g, share);
      return this.sum === null ? (x === g ? tf.clone(g) : x) : tf.add(this.sum[j]!, x);
    }));
    if (this.sum !== null) tf.dispose(this.sum);
    this.sum = next;
    this.completed++;
    if (this.completed < this.parts) return null;
    this.finished = true;
    let total = this.sum;
    this.sum = null;
    if (mode === 'equal' && this.parts > 1) {
      const src = total;
      total = src.map((s) => tf.div(s, this.parts));
      tf.dispose(src);
    }
    const descent = descentGradient(total, this.vars, this.cfg);
    if (descent !== total) tf.dispose(total);
    if (this.onDescent === undefined) return descent;
    try {
      this.onDescent(descent);
    } finally {
      tf.dispose(descent);
    }
    return null;
  }

  /** Ends the step without a descent: restores w and the guarded state if ascended, and frees what the step holds. */
  abort(): void {
    this.restore();
    if (this.sum !== null) tf.dispose(this.sum);
    this.sum = null;
    this.finished = true;
  }
}

/** Begins one sharpness-aware step over `vars` (see {@link SharpnessAwareStep}); its last descend returns the descent gradient. */
export function sharpnessAwareStep(vars: tf.Variable[], config: SharpnessConfig, opts: StepOptions = {}): SharpnessAwareStep {
  return new SharpnessAwareStep(vars, config, opts);
}

/** Parts first … first + n − 1 of `count`; [undefined] (the whole batch) when count is 1. */
function partsOf(first: number, n: number, count: number): (Part | undefined)[] {
  return count === 1 ? [undefined] : Array.from({ length: n }, (_, j) => ({ index: first + j, count }));
}

/**
 * Mean loss and mean gradient (in `vars` order) over `parts`, evaluated one part at a time so that
 * only one part's activations are alive at once; only the running sums are kept in between.
 */
function meanGradients(f: LossFn, vars: tf.Variable[], parts: (Part | undefined)[], pass: Pass): { value: tf.Scalar; grads: tf.Tensor[] } {
  let value: tf.Scalar | null = null;
  let sum: tf.Tensor[] | null = null;
  try {
    for (const part of parts) {
      const r = tf.variableGrads(() => f(part, pass), vars);
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
 * Loss at w and the sharpness-aware descent gradient (see the module comment for the algorithm): drives one
 * {@link SharpnessAwareStep} with the closure `f`, part by part and micro-batch by micro-batch, and finds the state the
 * clean pass writes (BatchNorm moving statistics) so that the step restores it too.
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
  const step = new SharpnessAwareStep(vars, cfg, opts);
  const keepCleanPassState = cfg.bnStatistics === 'clean-pass';
  const guard = keepCleanPassState ? opts.guard ?? [] : [];
  const guardedKeys = new Set<unknown>(guard.map(guardKey));
  const optimized = new Set(vars);
  const perturbedF = opts.perturbedLoss ?? f;
  const k = cfg.microBatches;
  const m = step.parts;
  const losses: tf.Scalar[] = [];
  const plosses: tf.Scalar[] = [];
  let descent: tf.Tensor[] | null = null;
  try {
    for (let i = 0; i < m; i++) {
      const parts = partsOf(i * k, k, m * k);
      const beforeClean = stateIds(optimized);
      const clean = meanGradients(f, vars, parts, 'clean');
      losses.push(clean.value);
      if (!step.perturbs) {
        try {
          descent = step.descend(clean.grads);
        } finally {
          tf.dispose(clean.grads);
        }
        break;
      }
      // state the clean pass wrote (BatchNorm moving statistics) keeps its post-clean-pass value
      const written = keepCleanPassState ? writtenSince(beforeClean, optimized, true) : [];
      try {
        step.ascend(clean.grads, { guard: written });
      } finally {
        tf.dispose(clean.grads);
      }
      const afterClean = stateIds(optimized);
      const watch = keepWatch(perturbedF);
      const r = meanGradients(watch.f, vars, parts, 'perturbed');
      plosses.push(r.value);
      try {
        watch.refuse();
        const restored = new Set<unknown>([...written, ...guardedKeys]);
        const unexpected = !keepCleanPassState ? [] : writtenSince(afterClean, optimized, false).filter((v) => !restored.has(v));
        if (unexpected.length > 0) {
          throw new Error(
            `The perturbed pass wrote variable(s) ${unexpected.map((v) => `'${v.name}'`).join(', ')} that the clean pass did not write, so their ` +
              'post-clean-pass value is unknown; pass them in the guard option (guard: [...]) to keep their value from before the perturbed pass.',
          );
        }
        descent = step.descend(r.grads);
      } finally {
        tf.dispose(r.grads);
      }
    }
  } catch (e) {
    // weights and guarded state restored; free what this step produced so far
    step.abort();
    tf.dispose([...losses, ...plosses]);
    throw e;
  }
  let loss: tf.Scalar;
  let perturbedLoss: tf.Scalar | null = null;
  if (losses.length > 1) {
    loss = tf.tidy(() => tf.div(tf.addN(losses), losses.length) as tf.Scalar);
    perturbedLoss = tf.tidy(() => tf.div(tf.addN(plosses), plosses.length) as tf.Scalar);
    tf.dispose([...losses, ...plosses]);
  } else {
    loss = losses[0]!;
    perturbedLoss = plosses[0] ?? null;
  }
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, j) => {
    grads[v.name] = descent![j]!;
  });
  return { loss, grads, perturbedLoss };
}
