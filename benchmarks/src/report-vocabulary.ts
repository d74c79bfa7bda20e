/**
 * The metric vocabulary a report reads a training experiment with. A run's result.json carries its task's
 * vocabulary (`metrics`); run folders written before it did are read with the vocabulary of their task id from
 * {@link TASK_VOCABULARIES}, the one place of the report that names a training task (a carried vocabulary that lacks
 * optional wording takes it from there too). Everything the training
 * section shows (labels, units, scales, the plateau rule, curves, the bootstrap) comes from the vocabulary, so a
 * new task reports without a change here once its runs carry `metrics`.
 */
import { metricSpec, type BootstrapSpec, type FigureLabel, type MetricSpec, type MetricVocabulary } from '@asam/train';
import { nmtTask } from '@asam/nmt';
import { visionTask } from '@asam/vision';
import { z } from 'zod';

/** Vocabularies of the tasks whose older run folders have no `metrics` in result.json: their registered specs'. */
export const TASK_VOCABULARIES: Readonly<Record<string, MetricVocabulary>> = Object.fromEntries([visionTask, nmtTask].map((t) => [t.id, t.metrics]));

const figure = z.object({ label: z.string(), short: z.string() });
const metricSchema = z.object({
  column: z.string().min(1), label: z.string(), goal: z.enum(['max', 'min']), scale: z.number().positive(), digits: z.number().int().min(0).max(10),
  unit: z.string(), short: z.string().optional(),
});
const vocabularySchema = z.object({
  evalSplit: z.string(), best: z.string(), headline: z.string(), train: z.string(),
  plateau: z.object({ column: z.string(), tolerance: z.number().nonnegative() }),
  examples: z.string(), unit: z.string(), metrics: z.array(metricSchema).min(1),
  axis: z.string().optional(), headlineShort: z.string().optional(), decided: figure.optional(), bestOver: figure.optional(),
  differences: z.string().optional(), pairing: z.string().optional(), comparison: z.string().optional(),
  curves: z.array(z.string()).optional(), plateauNote: z.string().optional(),
  bootstrap: z.object({ statistic: z.enum(['accuracy', 'corpus_bleu']), file: z.string().min(1) }).optional(),
});

/**
 * A vocabulary read from a file, checked: the shape, and that every column it refers to (best, headline, train,
 * plateau, curves) is one of its `metrics`. Throws naming `source`, the field and the problem.
 */
export function parseVocabulary(raw: unknown, source: string): MetricVocabulary {
  const r = vocabularySchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${source}: metrics.${i.path.join('.') || '(root)'}: ${i.message}; the metric vocabulary is @asam/train's MetricVocabulary, written by the task's runtime`);
  }
  const v = r.data as MetricVocabulary;
  const refs: Array<[string, string]> = [['best', v.best], ['headline', v.headline], ['train', v.train], ['plateau.column', v.plateau.column], ...(v.curves ?? []).map((c, k) => [`curves.${k}`, c] as [string, string])];
  for (const [field, column] of refs) {
    if (!v.metrics.some((m) => m.column === column)) throw new Error(`${source}: metrics.${field} is '${column}', which is not one of its metrics (${v.metrics.map((m) => m.column).join(', ')})`);
  }
  return v;
}

/** A vocabulary with every optional wording filled in (its defaults built from the required fields), as the report uses it. */
export interface ReportVocabulary {
  evalSplit: string;
  best: MetricSpec & { short: string };
  headline: MetricSpec & { short: string };
  train: MetricSpec & { short: string };
  plateau: MetricSpec & { short: string; tolerance: number; note: string | null };
  examples: string;
  axis: string;
  headlineShort: string;
  decided: FigureLabel;
  bestOver: FigureLabel;
  differences: string;
  comparison: string;
  curves: Array<MetricSpec & { short: string }>;
  bootstrap: BootstrapSpec | null;
}

/** Fills the optional wording of `v` with its defaults. */
export function resolveVocabulary(v: MetricVocabulary): ReportVocabulary {
  const spec = (column: string) => {
    const m = metricSpec(v, column);
    return { ...m, short: m.short ?? m.label };
  };
  const headline = spec(v.headline);
  const best = spec(v.best);
  const decided = v.decided ?? { label: `final ${headline.label}`, short: 'final' };
  const bestOver = v.bestOver ?? { label: `best ${best.label} over epochs`, short: 'best over epochs' };
  const differences = v.differences ?? headline.unit;
  const comparison = v.comparison ??
    `Paired differences (same seed${v.pairing ? ` = ${v.pairing}` : ''}), ${differences}. The verdict uses the **${decided.label}** (no choice made on the test set): per-seed differences, ` +
    'their mean with a 95 % Student-t interval over seeds, the two-sided paired t-test\'s p-value and that p adjusted by Holm\'s method over the report\'s family of pairwise claims (see the claims table). ' +
    `The ${bestOver.label} is shown beside it.${v.bootstrap ? ` Last column: a 95 % paired bootstrap interval over the ${v.examples} (2,000 resamples) for one seed.` : ''}`;
  return {
    evalSplit: v.evalSplit, best, headline, train: spec(v.train),
    plateau: { ...spec(v.plateau.column), tolerance: v.plateau.tolerance, note: v.plateauNote ?? null },
    examples: v.examples, axis: v.axis ?? headline.label, headlineShort: v.headlineShort ?? `final ${headline.short}`,
    decided, bestOver, differences, comparison,
    curves: (v.curves ?? v.metrics.map((m) => m.column)).map(spec),
    bootstrap: v.bootstrap ?? null,
  };
}

/** The vocabulary a result.json carries (`metrics`), checked; null when it carries none. */
export function resultVocabulary(raw: Record<string, unknown> | null, source: string): MetricVocabulary | null {
  return raw && raw.metrics !== undefined ? parseVocabulary(raw.metrics, source) : null;
}

/**
 * The vocabulary of an experiment's runs: the one their result.json files carry (all the same), else the one of its
 * task id in {@link TASK_VOCABULARIES}; null when neither has one (the task is not a training task).
 */
export function experimentVocabulary(task: string, runs: ReadonlyArray<{ id: string; raw: Record<string, unknown> | null }>): MetricVocabulary | null {
  let found: { id: string; v: MetricVocabulary } | null = null;
  for (const r of runs) {
    const v = resultVocabulary(r.raw, `${r.id}/result.json`);
    if (!v) continue;
    if (found && JSON.stringify(found.v) !== JSON.stringify(v)) {
      throw new Error(`${r.id}/result.json: its metric vocabulary differs from ${found.id}'s; the runs of one experiment must come from the same task (re-run the older cells)`);
    }
    found ??= { id: r.id, v };
  }
  const table = taskVocabulary(task);
  return found ? withWordingOf(found.v, table) : table;
}

/**
 * `v` (a run's vocabulary) with the optional wording it lacks taken from `table` (its task's entry in
 * {@link TASK_VOCABULARIES}), so runs written before a wording field existed read as the newer ones. `v` wins where it
 * has a field; nothing is taken unless both name the same columns.
 */
function withWordingOf(v: MetricVocabulary, table: MetricVocabulary | null): MetricVocabulary {
  const same = table && table.metrics.length === v.metrics.length && table.metrics.every((m, k) => m.column === v.metrics[k]!.column) &&
    table.best === v.best && table.headline === v.headline && table.train === v.train;
  if (!same) return v;
  return { ...table, ...v, metrics: v.metrics.map((m, k) => ({ ...table.metrics[k]!, ...m })) };
}

/** The vocabulary of a task id in {@link TASK_VOCABULARIES}; null for a task that has none there. */
export function taskVocabulary(task: string): MetricVocabulary | null {
  return Object.hasOwn(TASK_VOCABULARIES, task) ? TASK_VOCABULARIES[task]! : null;
}
