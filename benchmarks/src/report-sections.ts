/**
 * The report's sections, chosen by a table: each kind of experiment has a `compute` (run folders → the section's
 * model, plain data) and a `render` (model → markdown and charts). An experiment's kind is `rho_sweep` for a ρ sweep,
 * `training` for any task with a metric vocabulary (see report-vocabulary.ts), else its task id; a kind the table does
 * not have is refused, naming the kinds it has.
 */
import { createRegistry, UnknownIdError, type MetricVocabulary } from '@asam/train';
import { barChart, colorFor, contourSegments, lineChart, planeChart, scatterChart, type ChartSpec, type LinePoint, type PlaneLine } from './charts.ts';
import { tauDifferenceBootstrap, verdictOf, type Interval } from './compare.ts';
import type { Cell, ExperimentDef, ProfileName } from './experiment.ts';
import type { CellOutcome } from './outcome.ts';
import type { ClaimRow, RenderedSection, SectionModel, TrainingModel } from './report-model.ts';
import { computeTraining, convergence, mdTable, renderTraining } from './report-training.ts';
import { resolveVocabulary } from './report-vocabulary.ts';
import { kendallTau, mean } from './stats.ts';
import { engineLabel, envRecords } from './env-info.ts';

const OPT_LABEL: Record<string, string> = { sgd: 'SGD', sam: 'SAM', asam: 'ASAM' };

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** What a section's `compute` gets: the experiment, its cells and their outcomes, and for a ρ sweep the experiment it extends. */
export interface SectionInput {
  def: ExperimentDef;
  profile: ProfileName;
  cells: Cell[];
  outcomes: CellOutcome[];
  runDir: (c: Cell) => string;
  /** The experiment's metric vocabulary (null for an analysis task). */
  vocabulary: MetricVocabulary | null;
  /** A ρ sweep's reference experiment (`rhoSweepOf`), when the profile has it. */
  reference: { cells: Cell[]; outcomes: CellOutcome[] } | null;
}

/** An entry of the section table. */
export interface SectionKind<M extends SectionModel = SectionModel> {
  compute(input: SectionInput): M;
  render(model: M): RenderedSection;
}

function requireVocabulary(input: SectionInput): MetricVocabulary {
  if (!input.vocabulary) throw new Error(`experiment '${input.def.id}': a ${input.def.rhoSweepOf ? 'ρ sweep' : 'training section'} needs the metric vocabulary of task '${input.def.task}' (result.json \`metrics\`, or TASK_VOCABULARIES)`);
  return input.vocabulary;
}

interface RhoRun {
  cell: string; seed: number; rho: number; status: string; divergedAtEpoch: number | null; best: number | null; final: number | null; last: number | null; plateaued: boolean | null;
  /** Epochs of the run's schedule (its config), null when the config does not say. */
  epochs: number | null;
  /** The longer schedule's label for a run of it; null on the standard schedule. */
  schedule: string | null;
  /** Whether the ρ value's count rests on this run: false for a standard-schedule run of a ρ value that has longer runs, and for a control. */
  counted: boolean;
  /** A control run: a reference ρ value on the longer schedule ({@link LongerSchedule.controls}). */
  control: boolean;
  /** Where it ran (env.json, one record per start): the distinct git revisions (7 characters) and engines of its starts, and how many starts. */
  revisions: string[];
  engines: string[];
  starts: number;
}
/** Per ρ: whether all its counted runs ended, whether one diverged, the mean final-epoch value over its seeds (null unless all ended and none diverged; the claim's figure), the mean best-over-epochs value beside it, and the schedule it rests on (null: the standard one). */
interface RhoValue { rho: number; ended: boolean; diverged: boolean; value: number | null; bestValue: number | null; schedule: string | null }
/** One count of the ρ range for one method: its ρ values, the best of their values, how many are within 1 point of it, how many counted runs ended. */
interface RhoCount {
  rhos: RhoValue[];
  best: number | null;
  /** ρ values within 1 point of the method's best. */
  within: number;
  ended: number;
  /** Counted runs. */
  countedRuns: number;
  /** Counted runs that completed. */
  done: number;
  /** ρ values with a counted, completed run whose train accuracy was still rising at the end. */
  rising: number[];
}
interface RhoMethod extends RhoCount {
  method: string;
  runs: RhoRun[];
  /** The second count, with the control ρ values on the longer schedule; null without controls. */
  withControls: RhoCount | null;
  /** Per control ρ: mean final-epoch value over seeds on the longer schedule minus on the standard one (null until both are complete). */
  lift: Array<{ rho: number; value: number | null }>;
}
interface RhoModel extends SectionModel {
  kind: 'rho_sweep';
  title: string;
  seeds: number[];
  /** Display scale of the final/best columns (100 for accuracy in %). */
  scale: number;
  methods: RhoMethod[];
  /** The profile's labelled longer schedule, if any: its label, epochs and reason. */
  longer: { label: string; epochs: number | null; reason: string } | null;
}

const epochsOf = (c: Cell): number | null => (typeof c.config.epochs === 'number' ? c.config.epochs : null);

type RhoPoint = { c: Cell; o: CellOutcome };

/** A count over the runs `counted` picks (one per seed per ρ): see {@link computeRho}. */
function countRange(pts: RhoPoint[], counted: (c: Cell) => boolean, window: number, v: ReturnType<typeof resolveVocabulary>): RhoCount {
  const runs = pts.filter(({ c }) => counted(c));
  const done = runs.filter(({ o }) => o.status === 'completed' && o.final !== null);
  const rhos = [...new Set(runs.map(({ c }) => c.rho!))].sort((a, b) => a - b).map((rho): RhoValue => {
    const rs = runs.filter(({ c }) => c.rho === rho);
    const diverged = rs.some(({ o }) => o.status === 'diverged');
    const ended = rs.every(({ o }) => o.status === 'diverged' || (o.status === 'completed' && o.final !== null));
    const ok = rs.filter(({ o }) => o.status === 'completed' && o.final !== null);
    const usable = ended && !diverged && ok.length > 0;
    return {
      rho, ended, diverged, schedule: rs.find(({ c }) => c.schedule)?.c.schedule ?? null,
      value: usable ? mean(ok.map(({ o }) => o.final!)) : null,
      bestValue: usable && ok.every(({ o }) => o.best !== null) ? mean(ok.map(({ o }) => o.best!)) : null,
    };
  });
  const vals = rhos.filter((r) => r.value !== null);
  const best = vals.length ? Math.max(...vals.map((r) => r.value!)) : null;
  const within = best === null ? 0 : vals.filter((r) => best - r.value! <= window).length;
  const rising = [...new Set(done.filter(({ o }) => !convergence(v, o).plateaued).map(({ c }) => c.rho!))];
  return { rhos, best, within, ended: done.length + runs.filter(({ o }) => o.status === 'diverged').length, countedRuns: runs.length, done: done.length, rising };
}

/**
 * ρ sensitivity: final-epoch test accuracy against ρ (log axis) for SAM and ASAM, with the published-ρ runs of the
 * same seed taken from the reference experiment. The claim "ASAM keeps its accuracy over a wider ρ range" is judged
 * by how many of each method's ρ values come within 1 point of that method's best, on final-epoch accuracy (nothing
 * chosen on the test set; the best over epochs is shown beside it); with few seeds (no interval) only a difference of
 * two or more values gives a verdict. A ρ whose run diverged counts as a value outside that window. A ρ value with
 * runs on the profile's longer schedule ({@link LongerSchedule}) is counted on those; its standard-schedule runs are
 * shown as superseded. Where the longer schedule has controls (reference ρ values rerun on it), the count is made a
 * second time with those values on the longer schedule, the lift the schedule gives them is reported, and a verdict
 * stands only where both counts give it.
 */
function computeRho(input: SectionInput): RhoModel {
  const { def, cells, outcomes, reference: ref, runDir } = input;
  const v = resolveVocabulary(requireVocabulary(input));
  const seeds = new Set(cells.map((c) => c.seed));
  const all: RhoPoint[] = [...cells.map((c, i) => ({ c, o: outcomes[i]! })), ...(ref ? ref.cells.map((c, i) => ({ c, o: ref.outcomes[i]! })).filter(({ c }) => seeds.has(c.seed) && (c.optimizer === 'sam' || c.optimizer === 'asam')) : [])];
  const nSeeds = seeds.size;
  const spec = def.profiles[input.profile]?.longer;
  const longerCell = cells.find((c) => c.schedule);
  const longer = spec ? { label: spec.label, epochs: longerCell ? epochsOf(longerCell) : null, reason: spec.reason } : null;
  const standardCell = cells.find((c) => !c.schedule);
  const standardEpochs = standardCell ? epochsOf(standardCell) : null;
  const window = 1 / v.best.scale;
  const hasControls = Object.values(spec?.controls ?? {}).some((rs) => rs.length);
  // Per ρ value: its counted runs (one per seed, the longer schedule's where the ρ has one). A ρ counts once every
  // counted run has ended; its value is the mean final-epoch test accuracy over its seeds; a ρ with a diverged run
  // counts as outside the method's window. Controls count only in the second count.
  const methods = (['sam', 'asam'] as const).map((m): RhoMethod => {
    const pts = all.filter(({ c }) => c.optimizer === m)
      .sort((a, b) => a.c.rho! - b.c.rho! || Number(!!a.c.schedule) - Number(!!b.c.schedule) || a.c.seed - b.c.seed);
    const controlRhos = new Set(spec?.controls?.[m] ?? []);
    const isControl = (c: Cell) => !!c.schedule && controlRhos.has(c.rho!);
    const hasLonger = new Set(pts.filter(({ c }) => c.schedule && !isControl(c)).map(({ c }) => c.rho!));
    const isCounted = (c: Cell) => (c.schedule ? !isControl(c) : !hasLonger.has(c.rho!));
    const main = countRange(pts, isCounted, window, v);
    const withControls = hasControls ? countRange(pts, (c) => (c.schedule ? true : !hasLonger.has(c.rho!) && !controlRhos.has(c.rho!)), window, v) : null;
    const lift = [...controlRhos].map((rho) => {
      const a = main.rhos.find((r) => r.rho === rho)?.value ?? null;
      const b = withControls?.rhos.find((r) => r.rho === rho)?.value ?? null;
      return { rho, value: a !== null && b !== null ? b - a : null };
    });
    const runs: RhoRun[] = pts.map(({ c, o }) => {
      const cv = o.status === 'completed' ? convergence(v, o) : null;
      const env = envRecords(runDir(c));
      const distinct = (xs: Array<string | null>) => [...new Set(xs.map((x) => x ?? '?'))];
      return {
        revisions: distinct(env.map((r) => r.git?.sha?.slice(0, 7) ?? null)), engines: distinct(env.map(engineLabel)), starts: env.length,
        cell: `${c.experiment}/${c.id}`, seed: c.seed, rho: c.rho!, status: o.status, divergedAtEpoch: o.divergedAt?.epoch ?? null, best: o.best, final: o.final,
        last: cv?.last ?? null, plateaued: cv?.plateaued ?? null, epochs: epochsOf(c), schedule: c.schedule ?? null, counted: isCounted(c), control: isControl(c),
      };
    });
    return { method: m, ...main, runs, withControls, lift };
  });
  const [sam, asam] = methods as [RhoMethod, RhoMethod];
  const seedWord = nSeeds === 1 ? 'one seed' : `${nSeeds} seeds per ρ, compared by their mean`;
  const complete = (k: (x: RhoMethod) => RhoCount) => methods.every((x) => k(x).countedRuns > 0 && k(x).ended === k(x).countedRuns);
  // As for the pairwise claims, a counted run whose train curve is still rising could land elsewhere with more epochs
  // (inside the window, or above the method's best), so any such run makes the count inconclusive. Few seeds: a single
  // ρ value that lands on the other side of the window can flip a difference of one, so only a difference of two or
  // more values is a verdict.
  const verdictOf = (k: (x: RhoMethod) => RhoCount) => !complete(k) ? 'pending'
    : methods.some((x) => k(x).rising.length) ? 'inconclusive'
      : k(asam).within - k(sam).within >= 2 ? 'reproduced' : k(sam).within - k(asam).within >= 2 ? 'not reproduced' : 'inconclusive';
  const main = (x: RhoMethod): RhoCount => x;
  const ctl = (x: RhoMethod): RhoCount => x.withControls!;
  const mainVerdict = verdictOf(main);
  const ctlVerdict = hasControls ? verdictOf(ctl) : null;
  const verdict = ctlVerdict === null || mainVerdict === 'pending' ? mainVerdict : ctlVerdict === 'pending' ? 'pending' : mainVerdict === ctlVerdict ? mainVerdict : 'inconclusive';
  const countText = (k: (x: RhoMethod) => RhoCount) => `ASAM ${k(asam).within}/${k(asam).rhos.length} ρ values, SAM ${k(sam).within}/${k(sam).rhos.length}`;
  const longerRhos = methods.map((x) => ({ m: x.method, rhos: x.rhos.filter((r) => r.schedule).map((r) => r.rho) })).filter((x) => x.rhos.length);
  const controlText = methods.flatMap((x) => x.lift.map((l) => `${OPT_LABEL[x.method]} ρ ${l.rho}`)).join(', ');
  const liftText = methods.flatMap((x) => x.lift.map((l) => `${OPT_LABEL[x.method]} ρ ${l.rho} ${l.value === null ? 'pending' : `${l.value >= 0 ? '+' : '−'}${Math.abs(l.value * v.best.scale).toFixed(2)} points`}`)).join(', ');
  const runsDone = (k: (x: RhoMethod) => RhoCount) => `${methods.reduce((a, x) => a + k(x).ended, 0)} of ${methods.reduce((a, x) => a + k(x).countedRuns, 0)} runs done`;
  const claims: ClaimRow[] = [{
    claim: "ASAM keeps its accuracy over a wider range of ρ than SAM", paper: 'Fig. 5 (CIFAR-10): ASAM flat over a wider ρ range',
    ours: `final-epoch test accuracy within 1 point of the method's best${nSeeds > 1 ? ' (mean over seeds)' : ''}: ${countText(main)}`
      + (hasControls ? `; with ${controlText} also on the longer schedule (controls): ${countText(ctl)}` : ''),
    verdict,
    note: [mainVerdict !== 'pending' && (ctlVerdict === null || ctlVerdict !== 'pending')
      ? `${seedWord}: no interval${Math.abs(asam.within - sam.within) === 1 ? `; a difference of one ρ value is within what ${nSeeds === 1 ? 'one seed' : 'the seeds'} can flip` : ''}`
      : [runsDone(main), ...(hasControls ? [`with the controls ${runsDone(ctl)}`] : [])].join(', '),
      ...(longer && longerRhos.length ? [`longer schedule (${longer.epochs ?? '?'} epochs, labelled ${longer.label}) for ${longerRhos.map((x) => `${OPT_LABEL[x.m]} ρ ${x.rhos.join(', ')}`).join(', ')}`
        // The count then compares ρ values trained for different numbers of epochs: whatever the longer schedule
        // adds by itself is credited to its ρ values (the other ρ values did not run on it). The controls measure it.
        + `, against ${standardEpochs ?? '?'} for the other ρ values: ${hasControls
          ? `the controls measure what the longer schedule adds by itself (final-epoch, mean over seeds): ${liftText}`
          : 'the count does not separate what the longer schedule adds by itself from ρ'}`] : []),
      ...(ctlVerdict !== null && mainVerdict !== 'pending' && ctlVerdict !== 'pending' && mainVerdict !== ctlVerdict
        ? [`the two counts disagree (${mainVerdict}; with the controls ${ctlVerdict}): the verdict depends on the schedule of the reference ρ values`] : []),
      ...methods.filter((x) => x.ended > x.done).map((x) => `${OPT_LABEL[x.method]} diverged at ρ ${x.rhos.filter((r) => r.diverged).map((r) => r.rho).join(', ')}`),
      ...(methods.some((x) => x.rising.length) ? [`not plateaued (train accuracy still rising at the last epoch): ${methods.filter((x) => x.rising.length).map((x) => `${OPT_LABEL[x.method]} ρ ${x.rising.join(', ')}`).join(', ')}`] : []),
      ...(hasControls && methods.some((x) => x.withControls!.rising.some((r) => !x.rising.includes(r)))
        ? [`controls not plateaued: ${methods.filter((x) => x.withControls!.rising.some((r) => !x.rising.includes(r))).map((x) => `${OPT_LABEL[x.method]} ρ ${x.withControls!.rising.filter((r) => !x.rising.includes(r)).join(', ')}`).join(', ')}`] : []),
    ].join('; '),
  }];
  return { kind: 'rho_sweep', title: def.title, seeds: [...seeds], scale: v.best.scale, methods, groups: [], claims, longer };
}

function renderRho(m: RhoModel): RenderedSection {
  const nSeeds = m.seeds.length;
  const s = m.scale;
  const points: LinePoint[] = m.methods.flatMap((x) => [
    ...x.runs.filter((r) => r.counted && r.status === 'completed' && r.final !== null).map((r) => ({ series: `${OPT_LABEL[x.method]}`, method: x.method, run: `seed ${r.seed}`, bold: nSeeds === 1, x: r.rho, y: r.final! * s })),
    ...(nSeeds > 1 ? x.rhos.filter((r) => r.value !== null).map((r) => ({ series: `${OPT_LABEL[x.method]}`, method: x.method, run: `mean of ${nSeeds} seeds`, bold: true, x: r.rho, y: r.value! * s })) : []),
    // The controls: the reference ρ values on the longer schedule, drawn as a point of their own beside the curve.
    ...(x.withControls?.rhos ?? []).filter((r) => x.lift.some((l) => l.rho === r.rho) && r.value !== null)
      .map((r) => ({ series: `${OPT_LABEL[x.method]}, ${m.longer?.label ?? 'longer'} control`, method: x.method, run: nSeeds === 1 ? `seed ${m.seeds[0]}` : `mean of ${nSeeds} seeds`, bold: true, x: r.rho, y: r.value! * s })),
  ]);
  const longerNote = m.longer && m.methods.some((x) => x.rhos.some((r) => r.schedule))
    ? `; ${m.methods.flatMap((x) => x.rhos.filter((r) => r.schedule).map((r) => `${OPT_LABEL[x.method]} ρ ${r.rho}`)).join(', ')} on the longer ${m.longer.epochs ?? '?'}-epoch schedule`
    : '';
  const files: Array<[string, ChartSpec]> = points.length ? [['accuracy-vs-rho.svg', lineChart({ title: `${m.title}: final test accuracy vs ρ`, subtitle: `log ρ axis; ${nSeeds === 1 ? `seed ${m.seeds.join(', ')}` : `thin: seeds ${m.seeds.join(', ')}; bold: their mean, drawn once every seed of a ρ has finished`}${longerNote}`, xLabel: 'ρ (log scale)', yLabel: 'final-epoch test accuracy (%)', points, logX: true })]] : [];
  const rows = m.methods.flatMap((x) => x.runs.map((r) => {
    const status = r.divergedAtEpoch ? `diverged at epoch ${r.divergedAtEpoch}` : r.status;
    const done = r.status === 'completed';
    const schedule = `${r.epochs ?? '–'}${r.schedule ? ` (longer, ${r.schedule}${r.control ? ', control' : ''})` : ''}${r.counted || r.control ? '' : ', superseded'}`;
    return [OPT_LABEL[x.method]!, String(r.rho), schedule, done ? fmt(r.final! * s) : status, done ? fmt(r.best! * s) : '–',
      done ? fmt(r.last, 1) : '–', done ? (r.plateaued ? 'yes' : 'no') : '–', r.starts ? `${r.revisions.join(', ')}${r.starts > 1 ? ` (${r.starts} starts)` : ''}` : '–', r.engines.join('; ') || '–', r.cell];
  }));
  const [sam, asam] = m.methods as [RhoMethod, RhoMethod];
  const bestOf = (x: RhoMethod) => {
    const b = x.rhos.filter((r) => r.value !== null && r.value === x.best)[0];
    return b?.bestValue != null ? ` (best over epochs ${(b.bestValue * s).toFixed(2)} %)` : '';
  };
  const md = (p: string) => [
    ...(m.longer ? [`**Longer schedule (labelled \`${m.longer.label}\`, ${m.longer.epochs ?? '?'} epochs):** ${m.longer.reason} Where a ρ value has runs on it, the count uses them and its standard-schedule runs are marked superseded.${m.methods.some((x) => x.lift.length) ? ` The controls (${m.methods.flatMap((x) => x.lift.map((l) => `${OPT_LABEL[x.method]} ρ ${l.rho}`)).join(', ')}) are the reference ρ values rerun on it at the same seeds: their lift over the standard schedule is what the longer schedule adds by itself, and the claim is counted a second time with them on it.` : ''}`, ''] : []),
    mdTable(['method', 'ρ', 'epochs', 'final test acc (%)', 'best test acc (%)', 'final train acc (%)', 'train acc plateaued', 'revision', 'engine', 'run'], rows), '',
    'Revision and engine: each run\'s env.json, one record per start (a run stopped and resumed has several); runs on different revisions or engines train the same recipe with different float rounding, which moves a 120-epoch trajectory as another seed would.', '',
    sam.best !== null && asam.best !== null ? `Best of each over ρ, final-epoch test accuracy: ASAM ${(asam.best * s).toFixed(2)} %${bestOf(asam)} vs SAM ${(sam.best * s).toFixed(2)} %${bestOf(sam)} (${nSeeds === 1 ? 'one seed' : `mean over ${nSeeds} seeds per ρ`}, among the ρ values whose counted runs have all finished; differences below about a point are within the seed-to-seed spread measured in the clean experiment).` : '', '',
    ...files.map(([f]) => `![${f}](${p}${f})`), '',
  ].join('\n');
  return { md, files };
}

interface ScaleRaw {
  config: { rho: number; eta: number; a: number; start: [number, number]; rhoTrain: { sam: number; asam: number }; range: [number, number] };
  loss: string;
  points: Array<{ name: string; w: [number, number]; loss: number; sharpness: number; adaptiveSharpness: number; sharpnessBruteForce: number; adaptiveSharpnessBruteForce: number; asamEllipseSemiAxes: [number, number]; samMaximiser: [number, number]; asamMaximiser: [number, number] }>;
  trajectories: Record<string, Array<[number, number]>>;
  finalLoss: Record<string, number>;
  contour: { xs: number[]; ys: number[]; values: number[][] };
}

const CONTOUR_LEVELS = [0.02, 0.1, 0.3, 0.6, 1, 2, 4, 8];

function contourSegs(r: ScaleRaw): Array<{ x: number; y: number; x2: number; y2: number; level: number }> {
  return CONTOUR_LEVELS.flatMap((level) => contourSegments(r.contour.xs, r.contour.ys, r.contour.values, level).map(([x, y, x2, y2]) => ({ x, y, x2, y2, level })));
}

/** An ellipse with semi-axes (rx, ry) around (cx, cy), as a closed path of 73 points. */
function ellipse(cx: number, cy: number, rx: number, ry: number): Array<[number, number]> {
  return Array.from({ length: 73 }, (_, i) => [cx + rx * Math.cos((i / 72) * 2 * Math.PI), cy + ry * Math.sin((i / 72) * 2 * Math.PI)] as [number, number]);
}

/** An analysis cell's section model: its result.json as written (`raw`, null unless completed), and what is computed from it. */
interface AnalysisModel<R> extends SectionModel {
  status: string;
  error: string | null;
  raw: R | null;
}

function analysisRaw<R>(o: CellOutcome): R | null {
  return o.status === 'completed' && o.raw ? (o.raw as unknown as R) : null;
}

function notCompleted(m: AnalysisModel<unknown>): RenderedSection {
  return { md: () => `Not completed (${m.status}${m.error ? `: ${m.error}` : ''}).\n`, files: [] };
}

type ScaleModel = AnalysisModel<ScaleRaw> & { kind: 'scale_invariance' };

function computeScale(input: SectionInput): ScaleModel {
  const o = input.outcomes[0]!;
  const r = analysisRaw<ScaleRaw>(o);
  const claims: ClaimRow[] = [];
  const [pw, paw] = r?.points ?? [];
  if (r && pw && paw) {
    const rs = paw.sharpness / pw.sharpness;
    const ra = paw.adaptiveSharpness / pw.adaptiveSharpness;
    claims.push({
      claim: 'Adaptive sharpness is invariant to a loss-preserving rescaling; sharpness is not', paper: 'scale invariance of adaptive sharpness (§3, Fig. 1; exact as η → 0)',
      ours: `A·w / w: sharpness ×${rs.toFixed(2)}, adaptive ×${ra.toFixed(3)} (η = ${r.config.eta})`,
      verdict: Math.abs(ra - 1) < 0.05 && Math.abs(rs - 1) > 0.5 ? 'reproduced' : 'not reproduced', note: 'deterministic; criterion: the adaptive ratio within 5 % of 1 while sharpness changes by more than 50 %',
    });
  }
  return { kind: 'scale_invariance', status: o.status, error: o.error, raw: r, groups: [], claims };
}

function renderScale(m: ScaleModel): RenderedSection {
  const r = m.raw;
  if (!r) return notCompleted(m);
  const { rho, eta, a } = r.config;
  const segments = contourSegs(r);
  const prod = r.points[0]!.w[0] * r.points[0]!.w[1];
  const [lo, hi] = r.config.range;
  const hyp: Array<[number, number]> = Array.from({ length: 160 }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / 160).filter((x) => x > 0).map((x) => [x, prod / x] as [number, number]).filter(([, y]) => y >= lo && y <= hi);
  const regionLines: PlaneLine[] = [
    ...r.points.flatMap((p) => [
      { series: `SAM region (‖ε‖ ≤ ${rho})`, color: colorFor('sam'), fill: true, path: ellipse(p.w[0], p.w[1], rho, rho) },
      { series: `ASAM region (‖T_w⁻¹ε‖ ≤ ${rho})`, color: colorFor('asam'), fill: true, path: ellipse(p.w[0], p.w[1], p.asamEllipseSemiAxes[0], p.asamEllipseSemiAxes[1]) },
    ]),
    { series: 'w1·w2 = const (equal loss)', color: '#444', dashed: true, width: 1.5, path: hyp },
  ];
  const regionPoints = r.points.flatMap((p) => [
    { x: p.w[0], y: p.w[1], label: p.name, color: '#000', text: p.name },
    { x: p.w[0] + p.samMaximiser[0], y: p.w[1] + p.samMaximiser[1], label: `SAM maximiser of L(w+ε) at ${p.name}`, color: colorFor('sam') },
    { x: p.w[0] + p.asamMaximiser[0], y: p.w[1] + p.asamMaximiser[1], label: `ASAM maximiser of L(w+ε) at ${p.name}`, color: colorFor('asam') },
  ]);
  const regions = planeChart({
    title: `SAM ρ-ball vs ASAM ellipse at w and A·w (ρ = ${rho}, η = ${eta})`, subtitle: 'grey: loss contours; dots: w and the maximiser of L(w + ε) in each region',
    xLabel: 'w1', yLabel: 'w2', range: r.config.range, segments, lines: regionLines, points: regionPoints,
  });
  const traj = planeChart({
    title: `Trajectories from (${r.config.start.join(', ')}) (SAM ρ = ${r.config.rhoTrain.sam}, ASAM ρ = ${r.config.rhoTrain.asam})`, subtitle: 'grey: loss contours; dot: the last iterate',
    xLabel: 'w1', yLabel: 'w2', range: r.config.range, segments,
    lines: Object.entries(r.trajectories).map(([k, pts]) => ({ series: OPT_LABEL[k] ?? k, color: colorFor(k), path: pts.map(([x, y]) => [x, y] as [number, number]) })),
    points: Object.entries(r.trajectories).map(([k, pts]) => ({ x: pts.at(-1)![0], y: pts.at(-1)![1], label: `${OPT_LABEL[k] ?? k}: last iterate`, color: colorFor(k) })),
  });
  const files: Array<[string, ChartSpec]> = [['regions.svg', regions], ['trajectories.svg', traj]];
  const rows = r.points.map((p) => [p.name, `(${p.w.map((x) => x.toFixed(3)).join(', ')})`, p.loss.toFixed(4), p.sharpness.toFixed(4), p.sharpnessBruteForce.toFixed(4), p.adaptiveSharpness.toFixed(4), p.adaptiveSharpnessBruteForce.toFixed(4)]);
  const [pw, paw] = r.points;
  const md = (pre: string) => [
    `Loss ${r.loss}; A = diag(${a}, 1/${a}) leaves it unchanged. Sharpness over the ρ-ball and adaptive sharpness over {‖T_w⁻¹ε‖ ≤ ρ}, T_w = |w| + η, measured with @asam/core (projected gradient ascent, 20 steps) and by brute force over the region:`, '',
    mdTable(['point', 'w', 'L(w)', 'sharpness (core)', 'sharpness (brute force)', 'adaptive sharpness (core)', 'adaptive (brute force)'], rows), '',
    pw && paw ? `Ratio A·w / w: sharpness ×${(paw.sharpness / pw.sharpness).toFixed(2)}, adaptive sharpness ×${(paw.adaptiveSharpness / pw.adaptiveSharpness).toFixed(3)} (exactly 1 for η = 0).` : '', '',
    `Trajectories (${Object.values(r.trajectories)[0]!.length - 1} steps of plain SGD, lr ${(r.config as unknown as { lr: number }).lr}): final loss ${Object.entries(r.finalLoss).map(([k, v]) => `${OPT_LABEL[k] ?? k} ${v.toExponential(2)} at (${r.trajectories[k]!.at(-1)!.map((x) => x.toFixed(2)).join(', ')})`).join('; ')}.`, '',
    ...files.map(([f]) => `![${f}](${pre}${f})`), '',
  ].join('\n');
  return { md, files };
}

interface GapRaw {
  config: { rho: number; adaptiveRho: number; eta: number; trainLimit: number; testLimit: number; hidden: number; epochs: number };
  models: Array<{ id: string; trainAcc: number; testAcc: number; trainLoss: number | null; testLoss: number | null; gapAcc: number; gapLoss: number | null; sharpness: number | null; adaptiveSharpness: number | null; diverged?: boolean }>;
}

type GapModel = AnalysisModel<GapRaw> & {
  kind: 'sharpness_gap';
  /** Ids of the models τ is taken over (those that trained), and of those left out. */
  used: string[];
  excluded: string[];
  tau: { sAcc: number; aAcc: number; sLoss: number; aLoss: number } | null;
  /** Bootstrap of τ(adaptive) − τ(sharpness) over the models, per gap. */
  boot: { acc: Interval; loss: Interval } | null;
};

type GapModelRow = GapRaw['models'][number] & { sharpness: number; adaptiveSharpness: number; gapLoss: number };

function trainedModels(r: GapRaw): GapModelRow[] {
  return r.models.filter((m) => !m.diverged && m.sharpness !== null && m.adaptiveSharpness !== null && m.gapLoss !== null) as GapModelRow[];
}

function computeGap(input: SectionInput): GapModel {
  const o = input.outcomes[0]!;
  const r = analysisRaw<GapRaw>(o);
  if (!r) return { kind: 'sharpness_gap', status: o.status, error: o.error, raw: null, used: [], excluded: [], tau: null, boot: null, groups: [], claims: [] };
  const ms = trainedModels(r);
  const tau = {
    sAcc: kendallTau(ms.map((m) => m.sharpness), ms.map((m) => m.gapAcc)),
    aAcc: kendallTau(ms.map((m) => m.adaptiveSharpness), ms.map((m) => m.gapAcc)),
    sLoss: kendallTau(ms.map((m) => m.sharpness), ms.map((m) => m.gapLoss)),
    aLoss: kendallTau(ms.map((m) => m.adaptiveSharpness), ms.map((m) => m.gapLoss)),
  };
  const boot = {
    acc: tauDifferenceBootstrap(ms.map((m) => m.adaptiveSharpness), ms.map((m) => m.sharpness), ms.map((m) => m.gapAcc), { seed: 1 }),
    loss: tauDifferenceBootstrap(ms.map((m) => m.adaptiveSharpness), ms.map((m) => m.sharpness), ms.map((m) => m.gapLoss), { seed: 2 }),
  };
  const claims: ClaimRow[] = (['acc', 'loss'] as const).map((g) => ({
    claim: `Adaptive sharpness ranks the generalization gap (${g === 'acc' ? 'accuracy' : 'loss'}) better than sharpness`, paper: 'higher Kendall τ for adaptive sharpness (Fig. 2)',
    ours: `τ ${(g === 'acc' ? tau.aAcc : tau.aLoss).toFixed(3)} vs ${(g === 'acc' ? tau.sAcc : tau.sLoss).toFixed(3)}; Δτ ${boot[g].estimate >= 0 ? '+' : '−'}${Math.abs(boot[g].estimate).toFixed(3)} [${boot[g].lo.toFixed(3)}, ${boot[g].hi.toFixed(3)}] (bootstrap over ${ms.length} models)`,
    verdict: verdictOf(boot[g]), note: `${ms.length} small MLPs at CPU scale`,
  }));
  const used = new Set(ms.map((m) => m.id));
  return { kind: 'sharpness_gap', status: o.status, error: o.error, raw: r, used: [...used], excluded: r.models.filter((m) => !used.has(m.id)).map((m) => m.id), tau, boot, groups: [], claims };
}

function renderGap(m: GapModel): RenderedSection {
  const r = m.raw;
  const tau = m.tau;
  if (!r || !tau) return notCompleted(m);
  const all = r.models;
  const used = new Set(m.used);
  const ms = all.filter((x) => used.has(x.id)) as GapModelRow[];
  const excluded = all.filter((x) => !used.has(x.id));
  const sc = (measure: 'sharpness' | 'adaptiveSharpness', gap: 'gapAcc' | 'gapLoss', t: number) => scatterChart({
    title: `${measure === 'sharpness' ? `sharpness (ρ=${r.config.rho})` : `adaptive sharpness (ρ=${r.config.adaptiveRho})`} vs ${gap === 'gapAcc' ? 'accuracy gap' : 'loss gap'}`,
    subtitle: `Kendall τ = ${t.toFixed(3)} (n = ${ms.length} models); log x axis`, xLabel: measure === 'sharpness' ? 'sharpness' : 'adaptive sharpness', yLabel: gap === 'gapAcc' ? 'train acc − test acc (%)' : 'test loss − train loss',
    points: ms.map((m) => ({ x: m[measure], y: gap === 'gapAcc' ? m[gap] * 100 : m[gap], label: m.id })), logX: true, color: measure === 'sharpness' ? colorFor('sam') : colorFor('asam'),
  });
  const files: Array<[string, ChartSpec]> = [
    ['sharpness-vs-gap-acc.svg', sc('sharpness', 'gapAcc', tau.sAcc)], ['adaptive-vs-gap-acc.svg', sc('adaptiveSharpness', 'gapAcc', tau.aAcc)],
    ['sharpness-vs-gap-loss.svg', sc('sharpness', 'gapLoss', tau.sLoss)], ['adaptive-vs-gap-loss.svg', sc('adaptiveSharpness', 'gapLoss', tau.aLoss)],
  ];
  const md = (pre: string) => [
    `${all.length} one-hidden-layer MLPs (${r.config.hidden} units) trained for ${r.config.epochs} epochs on ${r.config.trainLimit} CIFAR-10 images (test: ${r.config.testLimit}), varying batch size, learning rate, weight decay and dropout. Kendall rank correlation τ (τ-b) with the generalization gap over the ${ms.length} models that trained:`, '',
    mdTable(['measure', 'τ with train acc − test acc', 'τ with test loss − train loss'], [
      [`sharpness (ρ = ${r.config.rho})`, tau.sAcc.toFixed(3), tau.sLoss.toFixed(3)],
      [`adaptive sharpness (ρ = ${r.config.adaptiveRho}, η = ${r.config.eta})`, tau.aAcc.toFixed(3), tau.aLoss.toFixed(3)],
    ]), '',
    excluded.length ? `Excluded from τ (training diverged, non-finite loss): ${excluded.map((m) => `\`${m.id}\``).join(', ')}.` : `All ${all.length} models trained without divergence.`, '',
    ...files.map(([f]) => `![${f}](${pre}${f})`), '',
    '<details><summary>Per-model numbers</summary>', '',
    mdTable(['model', 'train acc (%)', 'test acc (%)', 'train loss', 'test loss', 'sharpness', 'adaptive sharpness'],
      all.map((m) => [m.id, (m.trainAcc * 100).toFixed(1), (m.testAcc * 100).toFixed(1), fmt(m.trainLoss, 3), fmt(m.testLoss, 3),
        m.sharpness === null ? 'diverged' : m.sharpness.toExponential(3), m.adaptiveSharpness === null ? 'diverged' : m.adaptiveSharpness.toExponential(3)])),
    '', '</details>', '',
  ].join('\n');
  return { md, files };
}

interface StepRaw {
  config: { model: string; batchSize: number; warmup: number; repeats: number };
  /** 'nmt': translation updates (step-time-nmt.ts), with the fields of {@link NmtStepRaw}. */
  kind?: 'nmt';
  backend: string;
  trainableParams: number;
  medianS: Record<string, number>;
  ratioToSgd: Record<string, number>;
  minS?: Record<string, number>;
  minRatioToSgd?: Record<string, number>;
  imagesPerS: Record<string, number>;
  samplesS: Record<string, number[]>;
}

interface NmtStepRaw {
  kind: 'nmt';
  config: { preset: string; corpus: string; maxTokens: number; vocabSize: number; validLimit: number | null; search: string; warmup: number; repeats: number };
  backend: string;
  trainableParams: number;
  medianS: Record<string, number>;
  ratioToSgd: Record<string, number>;
  minS: Record<string, number>;
  minRatioToSgd: Record<string, number>;
  tokensPerS: Record<string, number>;
  samplesS: Record<string, number[]>;
  meanTargetTokens: number;
  updatesPerEpoch: number;
  validationS: number;
  epochS: Record<string, number>;
}

function renderNmtStep(r: NmtStepRaw): RenderedSection {
  const names = Object.keys(r.medianS);
  const label = (n: string) => (n === 'sgd' ? 'Adam' : OPT_LABEL[n] ?? n);
  const bars = barChart({ title: `Update time, ${r.config.preset} on ${r.config.corpus}, ≤ ${r.config.maxTokens} target tokens (${r.backend})`, subtitle: `median of ${r.config.repeats} timed rounds; dots: each round`, yLabel: 'seconds per update', digits: 3, dotName: 'round',
    bars: names.map((n) => ({ label: label(n), method: n === 'sgd' ? 'adam' : n, mean: r.medianS[n]!, std: null, seeds: (r.samplesS[n] ?? []).map((v, k) => ({ seed: k, value: v })) })) });
  const md = (pre: string) => [
    `${r.config.preset} (${r.trainableParams} trainable parameters, ${r.config.vocabSize} subwords), real ${r.config.corpus} training batches of at most ${r.config.maxTokens} target tokens (${r.meanTargetTokens.toFixed(0)} on average in the timed rounds), backend \`${r.backend}\`; ${r.config.warmup} warm-up round(s), then ${r.config.repeats} timed rounds interleaving Adam, SAM, ASAM on the same batch (weights reset before each update; the timer stops after \`dataSync()\` of the loss).`, '',
    mdTable(['optimizer', 'median update (s)', 'median / Adam', 'fastest update (s)', 'fastest / Adam', 'target tokens/s (median)', 'epoch estimate (min)', 'samples (s)'],
      names.map((n) => [label(n), r.medianS[n]!.toFixed(3), r.ratioToSgd[n]!.toFixed(2), r.minS[n]!.toFixed(3), r.minRatioToSgd[n]!.toFixed(2), r.tokensPerS[n]!.toFixed(0), (r.epochS[n]! / 60).toFixed(1), r.samplesS[n]!.map((x) => x.toFixed(3)).join(', ')])), '',
    `An epoch is ${r.updatesPerEpoch} updates plus one validation pass (${r.config.validLimit ?? 'all'} sentences, loss and ${r.config.search} decoding for BLEU), which took ${r.validationS.toFixed(1)} s; the epoch estimate is the median update × ${r.updatesPerEpoch} + that pass. The sweep estimate uses it for translation cells of the same settings until one of them has run an epoch.`, '',
    `![update time](${pre}step-time.svg)`, '',
  ].join('\n');
  return { md, files: [['step-time.svg', bars]] };
}

type StepModel = AnalysisModel<StepRaw | NmtStepRaw> & { kind: 'step_time' };

function computeStep(input: SectionInput): StepModel {
  const o = input.outcomes[0]!;
  return { kind: 'step_time', status: o.status, error: o.error, raw: analysisRaw<StepRaw | NmtStepRaw>(o), groups: [], claims: [] };
}

function renderStep(m: StepModel): RenderedSection {
  if (!m.raw) return notCompleted(m);
  // Translation update times (step-time-nmt.ts) are their own result format.
  if ((m.raw as StepRaw).kind === 'nmt') return renderNmtStep(m.raw as NmtStepRaw);
  const r = m.raw as StepRaw;
  const names = Object.keys(r.medianS);
  const bars = barChart({ title: `Step time, ${r.config.model}, batch ${r.config.batchSize} (${r.backend})`, subtitle: `median of ${r.config.repeats} timed rounds; dots: each round`, yLabel: 'seconds per step', digits: 3, dotName: 'round',
    bars: names.map((n) => ({ label: OPT_LABEL[n] ?? n, method: n, mean: r.medianS[n]!, std: null, seeds: (r.samplesS[n] ?? []).map((v, k) => ({ seed: k, value: v })) })) });
  const md = (pre: string) => [
    `${r.config.model} (${r.trainableParams} trainable parameters), one batch of ${r.config.batchSize} CIFAR-10 images, backend \`${r.backend}\`; ${r.config.warmup} warm-up round(s), then ${r.config.repeats} timed rounds interleaving SGD, SAM, ASAM (weights reset before each step; the timer stops after \`dataSync()\` of the loss).`, '',
    mdTable(['optimizer', 'median step (s)', 'median / SGD', 'fastest step (s)', 'fastest / SGD', 'images/s (median)', 'samples (s)'],
      names.map((n) => [OPT_LABEL[n] ?? n, r.medianS[n]!.toFixed(3), r.ratioToSgd[n]!.toFixed(2), fmt(r.minS?.[n], 3), fmt(r.minRatioToSgd?.[n], 2), r.imagesPerS[n]!.toFixed(1), r.samplesS[n]!.map((x) => x.toFixed(3)).join(', ')])), '',
    'On a machine shared with other work the fastest sample is the least disturbed; a SAM/ASAM step does two forward-backward passes, so about 2× is expected.', '',
    `![step time](${pre}step-time.svg)`, '',
  ].join('\n');
  return { md, files: [['step-time.svg', bars]] };
}


const training: SectionKind<TrainingModel> = { compute: (i) => computeTraining(i.def, i.profile, i.cells, i.outcomes, i.runDir, requireVocabulary(i)), render: renderTraining };

/** A section kind as an entry of the table (whose entries each read their own model type). */
function entry<M extends SectionModel>(k: SectionKind<M>): SectionKind<SectionModel> {
  return k as unknown as SectionKind<SectionModel>;
}

/** The section table: kind → { compute, render }. */
export const SECTIONS = createRegistry<SectionKind<SectionModel>>('report section');
SECTIONS.register('training', entry(training));
SECTIONS.register('rho_sweep', entry({ compute: computeRho, render: renderRho }));
SECTIONS.register('scale_invariance', entry({ compute: computeScale, render: renderScale }));
SECTIONS.register('sharpness_gap', entry({ compute: computeGap, render: renderGap }));
SECTIONS.register('step_time', entry({ compute: computeStep, render: renderStep }));

/** The kind of an experiment's section: `rho_sweep`, `training` (its task has a metric vocabulary), else its task id. */
export function sectionKindOf(def: Pick<ExperimentDef, 'task' | 'rhoSweepOf'>, vocabulary: MetricVocabulary | null): string {
  return def.rhoSweepOf ? 'rho_sweep' : vocabulary ? 'training' : def.task;
}

/** The table's entry for `kind`; an unknown kind throws, naming the kinds there are and how a training task gets its section. */
export function sectionFor(kind: string, experiment: string): SectionKind<SectionModel> {
  try {
    return SECTIONS.get(kind);
  } catch (e) {
    if (!(e instanceof UnknownIdError)) throw e;
    throw new Error(`experiment '${experiment}': no report section for '${kind}' (sections: ${SECTIONS.ids().join(', ')}). ` +
      'A training task gets the training section from its metric vocabulary: its runs\' result.json `metrics`, or an entry in TASK_VOCABULARIES (report-vocabulary.ts); an analysis task needs an entry in SECTIONS (report-sections.ts).');
  }
}

/** Computes an experiment's section model by its kind. */
export function computeSection(input: SectionInput): SectionModel {
  return sectionFor(sectionKindOf(input.def, input.vocabulary), input.def.id).compute(input);
}

/** Renders a section model by its `kind`. */
export function renderSection(model: SectionModel, experiment: string): RenderedSection {
  return sectionFor(model.kind, experiment).render(model);
}
