/**
 * The dropout-mask policy of the perturbed pass of a SAM/ASAM step: one named config field
 * (`optimizer.perturbedDropout` in every task's config, written into config.json) with one default for every task.
 *
 * - `'reuse'` (default): the perturbed pass draws the clean pass's masks, so its gradient differs from the clean one by
 *   w + ε alone — the setting of the committed Multi30k runs (the committed CIFAR runs use models without dropout);
 * - `'resample'`: the perturbed pass draws masks of its own.
 *
 * A task honours it by drawing its masks from `dropoutStream(ctx, policy)` (with the step and the slice).
 */
import type { PassContext } from './task.ts';

export type PerturbedDropout = 'reuse' | 'resample';

/** The values of {@link PerturbedDropout}, default first. */
export const PERTURBED_DROPOUT = ['reuse', 'resample'] as const satisfies readonly PerturbedDropout[];

/** The default of every task: the perturbed pass reuses the clean pass's masks. */
export const DEFAULT_PERTURBED_DROPOUT: PerturbedDropout = 'reuse';

/** The config field's description, for the tasks' JSON Schemas. */
export const PERTURBED_DROPOUT_DESCRIPTION =
  'Dropout masks of the perturbed pass of a SAM/ASAM step: "reuse" the clean pass\'s (default) or "resample" fresh ones.';

/**
 * The dropout stream a forward pass draws its masks from: 0 for the clean pass, and for the perturbed pass under
 * `'reuse'`; 1 for the perturbed pass under `'resample'`.
 */
export function dropoutStream(ctx: Pick<PassContext, 'pass'>, policy: PerturbedDropout): 0 | 1 {
  return policy === 'resample' && ctx.pass === 'perturbed' ? 1 : 0;
}
