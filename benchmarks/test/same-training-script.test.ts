import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'same-training-across-revisions.sh');

/** Runs the script with `args` and the given ASAM_DATA_DIR (null: unset); it must refuse before any worktree. */
function run(args: string[], dataDir: string | null = '/nonexistent-data') {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ASAM_DATA_DIR;
  if (dataDir !== null) env.ASAM_DATA_DIR = dataDir;
  const r = spawnSync('bash', [script, ...args], { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

describe('same-training-across-revisions.sh refuses bad input in one line, exit 2', () => {
  it.each([
    ['no -- before the CLI flags', ['HEAD', 'HEAD', '3', '--model', 'resnet20'], /^usage: .* <rev-a> <rev-b> <steps> -- <vision CLI flags>$/],
    ['a step count that is not a whole number', ['HEAD', 'HEAD', 'x', '--', '--seed', '0'], /^steps: 'x' is not a positive whole number; give e\.g\. 3$/],
    ['an unknown revision', ['HEAD', 'no-such-revision-here', '2', '--', '--seed', '0'], /^revision 'no-such-revision-here' is not a commit of .*; give a hash or branch$/],
  ])('%s', (_what, args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('ASAM_DATA_DIR unset', () => {
    const r = run(['HEAD', 'HEAD', '2', '--', '--seed', '0'], null);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('ASAM_DATA_DIR is not set; point it at the folder holding cifar-10-batches-bin');
  });
});
