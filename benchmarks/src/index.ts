/**
 * @asam/benchmarks: experiments (optimizer × ρ × seed grids with smoke / cpu / paper profiles), the
 * sweep runner (one child process and folder per cell) and report generation from run folders.
 * CLIs: src/cli.ts (`pnpm bench`), src/report-cli.ts (`report`), src/check-report.ts (`check-report`).
 */
export * from './experiment.ts';
export { createExperimentRegistry } from './experiments/index.ts';
export { runSweep, cellDir, isFinishedStatus, type SweepOptions, type SweepSummary, type CellRunRecord } from './runner.ts';
export { computeReport, generateReport, markdownToHtml, renderReport, type ReportModel, type ReportOptions, type ReportResult, type GroupRow } from './report.ts';
export { SECTIONS, type SectionKind } from './report-sections.ts';
export { TASK_VOCABULARIES } from './report-vocabulary.ts';
export { readOutcome, type CellOutcome } from './outcome.ts';
export { checkReport, type CheckResult } from './check.ts';
export { barChart, chartProblems, forestChart, lineChart, renderSvg, type ChartSpec } from './charts.ts';
export { kendallTau, mean, std, median, fmtMeanStd } from './stats.ts';
export type { TaskContext, TaskModule, BackendReport } from './tasks/types.ts';
