/**
 * One revision per seed: the runs a pairwise claim compares at one seed (its methods) should share a git revision, so
 * that a difference between them is the method's and not a change of the code in between. Before a sweep starts
 * cells, `seedRevisionNotes` names each seed whose other methods' runs ran on revisions other than this source tree's,
 * with the command that makes a worktree at that revision (the report's provenance table records what happened).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { envRecords } from './env-info.ts';
import type { Cell, ExperimentDef } from './experiment.ts';
import { readJsonIfExists } from './fs-util.ts';
import { cellDir, isFinishedStatus } from './runner.ts';

/** The git revision of the source tree at `dir` (HEAD), or null outside a git checkout. */
export function sourceRevision(dir: string): string | null {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || null : null;
}

/**
 * For the cells about to run (unfinished) of experiments with pairwise claims: per (experiment, seed) whose runs
 * (any start of any of its cells) ran on a revision other than `head`, one line naming those revisions and the way to
 * stay on one.
 * `all`: every cell of the profile (the siblings may be outside `--only`).
 */
export function seedRevisionNotes(toRun: readonly Cell[], all: readonly Cell[], experiments: readonly ExperimentDef[], runsDir: string, head: string | null): string[] {
  if (head === null) return [];
  const paired = new Set(experiments.filter((e) => (e.claims ?? []).length > 0).map((e) => e.id));
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const c of toRun) {
    const key = `${c.experiment}\u0000${c.seed}`;
    if (!paired.has(c.experiment) || seen.has(key)) continue;
    if (isFinishedStatus(readJsonIfExists<{ status?: unknown }>(path.join(cellDir(runsDir, c), 'result.json'))?.status)) continue;
    seen.add(key);
    // every start of every run of this seed (the unfinished ones too: resuming one here would move it to this revision)
    const others = new Map<string, string[]>();
    for (const s of all) {
      if (s.experiment !== c.experiment || s.seed !== c.seed) continue;
      for (const r of envRecords(cellDir(runsDir, s))) {
        const sha = r.git?.sha;
        if (sha && sha !== head) others.set(sha, [...new Set([...(others.get(sha) ?? []), s.id])]);
      }
    }
    if (!others.size) continue;
    const revs = [...others].map(([sha, ids]) => `${sha.slice(0, 7)} (${ids.join(', ')})`).join(', ');
    const first = [...others.keys()][0]!.slice(0, 7);
    notes.push(`seed ${c.seed} of ${c.experiment}: its runs ran on ${revs}, this tree is ${head.slice(0, 7)}; to keep the seed on one revision, ` +
      `run its cells from a worktree there (git worktree add --detach ../asam-${first} ${first}, then in it ` +
      '`pnpm install --frozen-lockfile && node packages/engine/scripts/build-native.mjs`)');
  }
  return notes;
}
