/**
 * What a task registers with the runtime (the fairseq `--task` idea): its id, its config schema, its metric vocabulary
 * and the artifacts it leaves in a run folder, and `createTask`, which builds the {@link TrainingTask} the runtime
 * trains. The metric vocabulary is written into every result.json (`metrics`), so whoever reads a run folder (the
 * report, the sweep) reads any task without knowing which one it is.
 */
import type { RuntimeConfig, RuntimeNames } from './runtime-config.ts';
import type { Schedule } from './schedules.ts';
import type { Batch, TrainingTask } from './task.ts';

/** One metrics.csv column as readers show it. */
export interface MetricSpec {
  /** metrics.csv column: `train_loss`, `train_acc`, `test_acc`, `valid_bleu`, … */
  column: string;
  /** Display name, e.g. 'test accuracy (%)', 'valid BLEU'. */
  label: string;
  /** Which way is better. */
  goal: 'max' | 'min';
  /** Display multiplier: 100 for a fraction shown in percent, 1 otherwise. */
  scale: number;
  /** Decimal digits shown (after `scale`). */
  digits: number;
  /** What a difference of two values is counted in ('points', 'BLEU', 'nats'). */
  unit: string;
  /** Short form for table headers ('train acc (%)'); default `label`. */
  short?: string;
}

/** A figure as the report names it: in sentences (`label`) and in table headers and chart rows (`short`). */
export interface FigureLabel {
  label: string;
  short: string;
}

/** The per-example file a run leaves for a paired bootstrap over the evaluated examples, and the statistic resampled. */
export interface BootstrapSpec {
  /**
   * 'accuracy': `{ labels, predicted }` per example (the share of right predictions is resampled);
   * 'corpus_bleu': BLEU segment statistics per sentence (each resample's corpus BLEU, Koehn 2004).
   */
  statistic: 'accuracy' | 'corpus_bleu';
  /** File in the run folder. */
  file: string;
}

/**
 * What a task's numbers mean: which columns exist, which decides the best epoch, which is the run's final figure,
 * and what the runtime and the readers call things. Plain JSON (it is written into result.json).
 */
export interface MetricVocabulary {
  /** The split evaluated after every epoch (the prefix of its columns): 'test', 'valid'. */
  evalSplit: string;
  /** Column that picks the best epoch (its spec's `goal` says which way). */
  best: string;
  /** The run's final figure: result.json `final.metric` (e.g. `test_acc` of the last epoch, `test_bleu` of the best weights). */
  headline: string;
  /** Training-side figure of a run (final train accuracy, final train loss), and the column whose plateau means "converged". */
  train: string;
  /** The column whose plateau means the run has converged, and the tolerance (display units). */
  plateau: { column: string; tolerance: number };
  /** What one evaluated example is, for bootstraps: 'test images', 'test sentences'. */
  examples: string;
  /** What a batch's weight counts ('images', 'tokens'): throughput columns are `<unit>_per_sec`. */
  unit: string;
  /** Every column the task writes besides epoch/step/lr/seconds/throughput, in display order. */
  metrics: MetricSpec[];
  // The optional fields below are how readers (the report) word things; each has a default built from the fields above.
  /** The headline as a chart axis and a summary column ('test accuracy (%)', 'BLEU'); default the headline's label. */
  axis?: string;
  /** Table header of a run's final figure ('final test acc (%)', 'test BLEU'); default `final <headline short>`. */
  headlineShort?: string;
  /** The figure verdicts use (a run's final figure: nothing chosen on the test set); default `final <headline label>`. */
  decided?: FigureLabel;
  /** The best epoch's figure, shown beside the decided one (a maximum over epochs); default `best <best label>`. */
  bestOver?: FigureLabel;
  /** What a difference of two headline values is called on an axis ('accuracy points'); default the headline's unit. */
  differences?: string;
  /** What a seed holds fixed in both runs of a pair ('same initialization, data order and augmentation'). */
  pairing?: string;
  /** The paragraph above a report's table of paired differences; default composed from the fields above. */
  comparison?: string;
  /** Columns drawn per epoch, in order; default every column of `metrics`. */
  curves?: string[];
  /** What the plateau is measured on, added to the report's definition of "plateaued". */
  plateauNote?: string;
  /** Per-example results for a one-seed paired bootstrap; absent when the task leaves none. */
  bootstrap?: BootstrapSpec;
}

/** The spec of `column` in `v`; throws when the vocabulary does not define it. */
export function metricSpec(v: MetricVocabulary, column: string): MetricSpec {
  const m = v.metrics.find((x) => x.column === column);
  if (!m) throw new Error(`metric '${column}' is not in the vocabulary (defined: ${v.metrics.map((x) => x.column).join(', ')})`);
  return m;
}

/** What a task gets from whoever runs it (the CLI, a benchmark cell). */
export interface TaskEnvironment {
  /** Dataset root (`--data-dir`, $ASAM_DATA_DIR, or the user cache). */
  dataDir: string;
  /** The run folder (the task may leave its artifacts there). */
  out: string;
  /** Backend name the caller chose. */
  backend: string | null;
  log: (line: string) => void;
}

/** One run of a task, built by {@link TaskSpec.createTask}: what the runtime trains, and how it is taken down. */
export interface TaskRun {
  task: TrainingTask;
  /** The learning-rate schedule (a function of the global step and the run's total steps). */
  schedule: Schedule;
  /** Makes an error of a step (e.g. out of memory) say what to do. */
  explainStepError?: (e: unknown, batch: Batch) => Error;
  /** Frees the model and optimizer (called once the run returns or fails). */
  dispose(): void;
}

/**
 * A registered task. `C` is the task's own config section (config.json `config`); the runtime's section
 * (config.json `runtime`, see runtime-config.ts) is shared by every task.
 */
export interface TaskSpec<C = unknown> {
  /** lower_snake id: 'vision', 'nmt', 'toy'. */
  readonly id: string;
  /** One line for help texts. */
  readonly title: string;
  /**
   * Validates the task's config section and fills its defaults; throws a ConfigError naming the field. `source` names
   * where the section came from in messages ('config', a file). Runtime fields are refused here (they have one place).
   */
  parseConfig(raw: unknown, source: string): C;
  readonly metrics: MetricVocabulary;
  /** Files the task itself leaves in a run folder besides the runtime's (samples.txt, label-noise.json, best.bin). */
  readonly artifacts: readonly string[];
  /** The recipe's runtime settings that depend on the task config (e.g. epochs 200 for CIFAR, 100 for ImageNet). */
  runtimeDefaults?(config: C): Partial<RuntimeConfig>;
  /**
   * Whether the learning-rate schedule spans the planned run (cosine over epochs × steps): then `epochs` and
   * `maxSteps` are fixed for a run; otherwise (inverse-sqrt) they may change on resume.
   */
  readonly scheduleSpansRun: boolean;
  /** Fields of the task's section that may differ on resume (where data or caches live, what is printed at the end). */
  readonly executionFields?: readonly string[];
  /** Old names of runtime fields in the task's config.json from before the runtime section (nmt: `outDir` → `out`). */
  readonly runtimeNames?: RuntimeNames;
  /** Unwraps an older config.json layout into the flat config (nmt's `{ config, derived }`); default: as read. */
  legacyConfig?(raw: Record<string, unknown>): Record<string, unknown>;
  /** Dataset files the config reads (hashed into env.json). */
  dataFiles?(config: C, dataDir: string): string[];
  /** Builds the model, optimizer, data, evaluation and schedule of one run. */
  createTask(config: C, runtime: RuntimeConfig, env: TaskEnvironment): Promise<TaskRun>;
}
