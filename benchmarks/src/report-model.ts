/**
 * The results model of a report: plain, JSON-serialisable data computed from the run folders (groups over seeds,
 * per-seed values, paired differences with t-intervals, Holm-adjusted p-values, bootstraps, convergence, claims).
 * The renderers (markdown, HTML, charts) read this model and nothing else; `model.json` beside a report is this
 * model, and rendering it again gives the same report.
 */
import type { Interval, TTest, Verdict } from './compare.ts';
import type { ChartSpec } from './charts.ts';
import type { CellOutcome } from './outcome.ts';
import type { ReferenceModel } from './report-reference.ts';
import type { ReportVocabulary } from './report-vocabulary.ts';

export const REPORT_MODEL_FORMAT = 'asam-report-model/1';

/** One row of the claims table at the top of a report. */
export interface ClaimRow {
  claim: string;
  paper: string;
  ours: string;
  verdict: Verdict | 'pending';
  note: string;
  /** A pairwise claim decided by a paired test over seeds (absent for the other kinds of claim). */
  pairwise?: PairwiseTest;
}

/** The numbers behind a pairwise claim: the decided metric (`final`) and the paper's (`best`), in the metric's units ÷ scale. */
export interface PairwiseTest {
  experiment: string;
  seedsPlanned: number;
  /** Completed seed pairs. */
  n: number;
  unit: string;
  scale: number;
  digits: number;
  decidedLabel: string;
  otherLabel: string;
  final: { mean: number | null; lo: number | null; hi: number | null; p: number | null; pAdjusted: number | null };
  best: { mean: number | null; lo: number | null; hi: number | null; p: number | null; pAdjusted: number | null };
  /** Reasons the claim stays inconclusive whatever the test says (runs not converged, diverged, regime not reached). */
  blockers: string[];
  /** The Holm family, when the claim is in it. */
  family: string | null;
  /** One seed's paired bootstrap over the test set (images or sentences). */
  bootstrap: { seed: number; estimate: number; lo: number; hi: number; over: string } | null;
}

/** One row of summary.csv: an (experiment, optimizer, ρ) group aggregated over seeds. */
export interface GroupRow {
  experiment: string;
  task: string;
  optimizer: string;
  rho: number | null;
  seedsCompleted: number;
  seedsTotal: number;
  failed: number;
  metric: string;
  bestMean: number | null;
  bestStd: number | null;
  finalMean: number | null;
  finalStd: number | null;
  /** Mean final value of the vocabulary's train column (train accuracy on the labels trained on, train loss, …). */
  trainFinalMean: number | null;
  /** Completed seeds whose convergence curve plateaued. */
  plateaued: number;
  paper: number | null;
  wallMeanS: number | null;
  stepMeanS: number | null;
  stepRatioToSgd: number | null;
  wallRatioToSgd: number | null;
  backends: string;
}

/** A paired comparison "a > b" of one experiment over seeds. Differences are a − b when the decided metric's goal is max, b − a when min (better − worse). */
export interface PairModel {
  a: string;
  b: string;
  /** "SAM > SGD". */
  claim: string;
  /** "SAM − SGD" (the order of the differences). */
  difference: string;
  seeds: number[];
  dBest: number[];
  dFinal: number[];
  ivBest: Interval | null;
  ivFinal: Interval | null;
  testBest: TTest | null;
  testFinal: TTest | null;
  boot: Interval | null;
  bootSeed: number | null;
  paperDiff: number | null;
  adjFinal: number | null;
  adjBest: number | null;
  /**
   * Seeds for 80 % power at the observed final-epoch mean difference and spread (`seedsForPower`): at α 0.05, and at
   * α / m, Holm's strictest threshold in a family of m claims (set with the family; absent in models written before).
   */
  plan?: { power: number; alpha: number; seeds: number | null; familyAlpha: number | null; familySeeds: number | null };
}

/** A section's computed data. `kind` names its entry in the section table; `groups`/`claims` go to the summary. */
export interface SectionModel {
  kind: string;
  groups: GroupRow[];
  claims: ClaimRow[];
  /** Pairwise comparisons (the pairwise claims among `claims`, in the same order), decided together by `decidePairwiseClaims`. */
  pairs?: PairModel[];
}

/** What a renderer makes of a section: its markdown (image paths prefixed) and its charts by file name. */
export interface RenderedSection {
  md: (imgPrefix: string) => string;
  /** Charts by file name (`x.svg`: the SVG drawn from the spec; the spec itself goes beside it as `x.vl.json`). */
  files: Array<[string, ChartSpec]>;
}

/** One run of a training experiment as the training section shows it. */
export interface TrainingCellModel {
  id: string;
  seed: number;
  optimizer: string;
  rho: number | null;
  status: string;
  error: string | null;
  divergedAt: { epoch: number; step: number; loss: number | null } | null;
  plannedEpochs: number | null;
  best: number | null;
  final: number | null;
  /** Last value of the vocabulary's train column. */
  train: number | null;
  convergence: { plateaued: boolean; change: number | null; last: number | null } | null;
  /** Under label noise: the epoch of the best test value, and whether it came before the last 10 % of epochs. */
  settled: { bestEpoch: number; window: number; settled: boolean } | null;
  /** metrics.csv: `epoch` and the vocabulary's curve and plateau columns (display scale not applied). */
  columns: Record<string, number[]>;
  /**
   * The run's process starts (env.json; a resumed run has several), earliest first: git revision (10 hex digits),
   * machine (`cpuModel (N cores)`) and engine (backend and kernel tier); empty where the folder has no env.json.
   */
  starts: Array<{ revision: string | null; machine: string | null; engine: string | null }>;
}

export interface Stat {
  values: number[];
  mean: number | null;
  std: number | null;
}

export interface TrainingGroupModel {
  optimizer: string;
  rho: number | null;
  /** Indices into the section's `cells`. */
  cells: number[];
  diverged: number;
  best: Stat;
  final: Stat;
  train: Stat;
}

/** A training experiment's section (any task with a metric vocabulary). */
export interface TrainingModel extends SectionModel {
  kind: 'training';
  experiment: string;
  title: string;
  /** The base optimizer's display name in the grid ('sgd', 'adam'). */
  baseOptimizer: string;
  vocabulary: ReportVocabulary;
  /** "model=…, epochs=…" of the first cell. */
  configLine: string;
  /** The profile is the published recipe (its numbers compare with the paper's). */
  comparable: boolean;
  paper: { setting: string; source: string; values: Record<string, number> } | null;
  /** The experiment's claims as planned ("better > worse", the paper's difference). */
  plannedClaims: Array<{ better: string; worse: string; paper: string }>;
  cells: TrainingCellModel[];
  groups: GroupRow[];
  groupStats: TrainingGroupModel[];
  noisyLabels: boolean;
  noise: { rate: number; train: number; reached: boolean; seeds: number } | null;
  pairs: PairModel[];
  /** Indices of cells a comparison rests on although they had not converged. */
  unresolved: number[];
  /** The first completed cell with an `lr` column: its schedule. */
  lr: { epoch: number[]; lr: number[] } | null;
}

/** One experiment of a report. */
export interface ExperimentModel {
  id: string;
  title: string;
  description: string;
  /** The profile's note, if any. */
  note: string | null;
  /** Where its run folders would be, when none exists ("Not run yet"); null when some ran. */
  notRun: string | null;
  section: SectionModel;
}

/** A whole report. */
export interface ReportModel {
  format: typeof REPORT_MODEL_FORMAT;
  profile: string;
  generatedAt: string;
  /** The runs folder, relative to the report folder. */
  runsDir: string;
  preamble: string | null;
  backends: string[];
  shas: string[];
  /** Machine label and the number of cells that ran on it (in whole or in part). */
  machines: Array<[string, number]>;
  cells: Array<{ experiment: string; cell: string; status: CellOutcome['status']; error: string | null; wallS: number | null }>;
  /** The Holm family of the pairwise claims. */
  family: string;
  experiments: ExperimentModel[];
  /** The independent PyTorch runs set beside the reference experiment, when the report folder has them. */
  reference: ReferenceModel | null;
}
