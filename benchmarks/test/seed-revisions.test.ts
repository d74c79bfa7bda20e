import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineExperiment, expandGrid } from '../src/experiment.ts';
import { cellDir } from '../src/runner.ts';
import { seedRevisionNotes } from '../src/seed-revisions.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const paired = defineExperiment({
  id: 'fab_seeds', title: 'Fabricated seeds', task: 'vision', description: 'one revision per seed',
  base: { model: 'resnet20' }, grid: { optimizer: ['sgd', 'asam'], rho: { asam: [0.5] }, seed: [0, 1] }, profiles: { cpu: {} },
  claims: [{ better: 'asam', worse: 'sgd', paper: '+0.94' }],
});
const unpaired = defineExperiment({ ...paired, id: 'fab_grid', claims: undefined });

/** A cell folder with env.json (starts on the given revisions, earliest first) and result.json of `status`. */
function cell(runsDir: string, exp: typeof paired, id: string, status: string, shas: string[]): void {
  const c = expandGrid(exp, 'cpu').find((x) => x.id === id)!;
  const d = cellDir(runsDir, c);
  fs.mkdirSync(d, { recursive: true });
  const rec = (sha: string) => ({ git: { sha } });
  fs.writeFileSync(path.join(d, 'env.json'), JSON.stringify({ ...rec(shas.at(-1)!), previous: shas.slice(0, -1).map(rec) }));
  fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ status }));
}

describe('seedRevisionNotes (one revision per seed)', () => {
  it('names a seed whose runs ran on other revisions than this tree, with the worktree command; nothing for a seed on this revision', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'asam-seed-rev-'));
    cell(runs, paired, 'sgd-seed0', 'completed', [A]);
    cell(runs, paired, 'asam-rho0.5-seed0', 'stopped', [A, C]);
    cell(runs, paired, 'sgd-seed1', 'completed', [B]);
    const all = expandGrid(paired, 'cpu');
    expect(seedRevisionNotes(all, all, [paired], runs, B)).toEqual([
      `seed 0 of fab_seeds: its runs ran on aaaaaaa (sgd-seed0, asam-rho0.5-seed0), ccccccc (asam-rho0.5-seed0), this tree is bbbbbbb; to keep the seed on one revision, run its cells from a worktree there (git worktree add --detach ../asam-aaaaaaa aaaaaaa, then in it \`pnpm install --frozen-lockfile && node packages/engine/scripts/build-native.mjs\`)`,
    ]);
    // seed 1's other run is on this revision; a seed whose cells have all finished needs nothing; nor does a grid without claims
    expect(seedRevisionNotes(all.filter((c) => c.seed === 1), all, [paired], runs, B)).toEqual([]);
    cell(runs, paired, 'asam-rho0.5-seed0', 'completed', [A]);
    expect(seedRevisionNotes(all, all, [paired], runs, B)).toEqual([]);
    const grid = expandGrid(unpaired, 'cpu');
    cell(runs, unpaired, 'sgd-seed0', 'completed', [A]);
    expect(seedRevisionNotes(grid, grid, [unpaired], runs, B)).toEqual([]);
    // outside a git checkout there is no revision to compare with
    expect(seedRevisionNotes(all, all, [paired], runs, null)).toEqual([]);
  });
});
