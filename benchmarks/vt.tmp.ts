import { generateReport, reportChartProblems } from './src/report.ts';
import { createExperimentRegistry } from './src/experiments/index.ts';
const t0 = Date.now();
const r = generateReport({ experiments: createExperimentRegistry().forProfile('cpu'), profile: 'cpu', runsDir: 'results/cpu/runs', outDir: '/tmp/cpurep' });
console.log('report ms', Date.now() - t0);
for (const c of r.claims) console.log(c.verdict.padEnd(15), c.claim, '|', c.ours, '|', c.pairwise ? `p=${c.pairwise.final.p?.toFixed(4)} adj=${c.pairwise.final.pAdjusted?.toFixed(4)} bestadj=${c.pairwise.best.pAdjusted?.toFixed(4)}` : '', '|', c.note);
const t1 = Date.now();
const cp = reportChartProblems('/tmp/cpurep');
console.log('charts', cp.charts, 'ms', Date.now() - t1, cp.problems);
