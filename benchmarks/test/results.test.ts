import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dataNeeds, prepareData } from '../src/data-check.ts';
import { defineExperiment, expandGrid } from '../src/experiment.ts';
import { committedRunsDir, publishResults, restoreFromCommitted } from '../src/results.ts';
import { cellDir } from '../src/runner.ts';

const exp = defineExperiment({
  id: 'fab_pub', title: 'Fabricated publication', task: 'vision', description: 'fabricated runs for the publish test',
  base: { model: 'resnet20' }, grid: { optimizer: ['sgd', 'asam'], rho: { asam: [0.5] }, seed: [0] }, profiles: { cpu: {} },
});

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'asam-bench-results-'));
}

/** A run folder: finished (result.json completed) or stopped mid-way, each with a checkpoint. */
function fabricate(runsDir: string, finishedIds: string[]): void {
  for (const c of expandGrid(exp, 'cpu')) {
    const d = cellDir(runsDir, c);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'cell.json'), JSON.stringify({ id: c.id, config: { epochs: 2 } }));
    fs.writeFileSync(path.join(d, 'checkpoint.bin'), 'weights');
    fs.writeFileSync(path.join(d, 'log.txt'), Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n'));
    fs.writeFileSync(path.join(d, 'metrics.csv'), 'epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds\n1,0.1,2,0.3,2,0.3,10\n');
    if (finishedIds.includes(c.id)) fs.writeFileSync(path.join(d, 'result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: 0.5, epoch: 1 }, final: { metric: 'test_acc', value: 0.5 } }));
  }
}

describe('publishResults / restoreFromCommitted', () => {
  it('refuses an unfinished sweep without --partial and writes nothing', () => {
    const root = tmp();
    fabricate(path.join(root, 'runs'), ['sgd-seed0']);
    const resultsDir = path.join(root, 'results');
    expect(() => publishResults({ experiments: [exp], profile: 'cpu', runsDir: path.join(root, 'runs'), resultsDir, partial: false }))
      .toThrow(/not complete \(1 of 2 cells finished.*--partial/);
    expect(fs.existsSync(resultsDir)).toBe(false);
  });

  it('publishes finished cells without checkpoints, unfinished ones with them, and a report that says it is partial', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    fabricate(runs, ['sgd-seed0']);
    const resultsDir = path.join(root, 'results');
    fs.mkdirSync(path.join(resultsDir, 'old_experiment'), { recursive: true });
    fs.mkdirSync(path.join(resultsDir, 'torch-reference'), { recursive: true });
    const p = publishResults({ experiments: [exp], profile: 'cpu', runsDir: runs, resultsDir, partial: true });
    expect([p.copied, p.kept, p.finished, p.total]).toEqual([2, 0, 1, 2]);
    const pub = committedRunsDir(resultsDir);
    expect(fs.existsSync(path.join(pub, 'fab_pub/sgd-seed0/checkpoint.bin'))).toBe(false);
    expect(fs.existsSync(path.join(pub, 'fab_pub/asam-rho0.5-seed0/checkpoint.bin'))).toBe(true);
    const log = fs.readFileSync(path.join(pub, 'fab_pub/sgd-seed0/log.txt'), 'utf8').split('\n');
    expect(log).toHaveLength(401);
    expect(log[0]).toContain('600 earlier lines');
    expect(log.at(-1)).toBe('line 999');
    expect(fs.existsSync(path.join(resultsDir, 'old_experiment'))).toBe(false);
    expect(fs.existsSync(path.join(resultsDir, 'torch-reference')), 'committed reference runs are kept').toBe(true);
    const md = fs.readFileSync(path.join(resultsDir, 'report.md'), 'utf8');
    expect(md).toContain('Partial publication: 1 of 2 cells finished');
    expect(md).toContain('from the run folders in `runs`');
  });

  it('leaves out an unfinished cell that has no checkpoint yet (nothing to resume)', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    fabricate(runs, ['sgd-seed0']);
    fs.rmSync(path.join(runs, 'fab_pub/asam-rho0.5-seed0/checkpoint.bin'));
    const resultsDir = path.join(root, 'results');
    const p = publishResults({ experiments: [exp], profile: 'cpu', runsDir: runs, resultsDir, partial: true });
    expect([p.copied, p.finished, p.total]).toEqual([1, 1, 2]);
    expect(fs.existsSync(path.join(committedRunsDir(resultsDir), 'fab_pub/asam-rho0.5-seed0'))).toBe(false);
    expect(p.report.cells.find((c) => c.cell === 'asam-rho0.5-seed0')?.status).toBe('missing');
  });

  it('leaves out a cell a process is training (its run.lock: never copied mid-write), and never copies a lock file', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    fabricate(runs, ['sgd-seed0']);
    const lock = { format: 'asam-run-lock/1', host: os.hostname(), bootId: null, pid: process.pid, pidStart: null, childPid: null, childStart: null,
      token: 'sweep', since: '2026-12-07T03:00:00.000Z', what: 'pnpm bench' };
    fs.writeFileSync(path.join(runs, 'fab_pub/asam-rho0.5-seed0/run.lock'), JSON.stringify(lock));
    // a finished cell whose process has ended (a pid that is gone) left its lock behind: copied, the lock is not
    fs.writeFileSync(path.join(runs, 'fab_pub/sgd-seed0/run.lock'), JSON.stringify({ ...lock, pid: spawnSync(process.execPath, ['-e', '']).pid }));
    const resultsDir = path.join(root, 'results');
    const p = publishResults({ experiments: [exp], profile: 'cpu', runsDir: runs, resultsDir, partial: true });
    expect([p.copied, p.finished, p.total]).toEqual([1, 1, 2]);
    expect(p.busy).toEqual(['fab_pub/asam-rho0.5-seed0']);
    const pub = committedRunsDir(resultsDir);
    expect(fs.existsSync(path.join(pub, 'fab_pub/asam-rho0.5-seed0'))).toBe(false);
    expect(fs.readdirSync(path.join(pub, 'fab_pub/sgd-seed0')).sort()).toEqual(['cell.json', 'log.txt', 'metrics.csv', 'result.json']);
    // once its process has ended, the cell is published with its checkpoint
    fs.rmSync(path.join(runs, 'fab_pub/asam-rho0.5-seed0/run.lock'));
    const again = publishResults({ experiments: [exp], profile: 'cpu', runsDir: runs, resultsDir, partial: true });
    expect([again.copied, again.kept, again.busy]).toEqual([1, 1, []]);
    expect(fs.existsSync(path.join(pub, 'fab_pub/asam-rho0.5-seed0/checkpoint.bin'))).toBe(true);
  });

  it('never replaces a finished committed cell, and restores committed cells a new machine lacks', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    fabricate(runs, ['sgd-seed0', 'asam-rho0.5-seed0']);
    const resultsDir = path.join(root, 'results');
    publishResults({ experiments: [exp], profile: 'cpu', runsDir: runs, resultsDir, partial: false });
    // A later sweep elsewhere finishes the same cell with other numbers: the committed result stays.
    const other = path.join(root, 'other');
    fabricate(other, ['sgd-seed0', 'asam-rho0.5-seed0']);
    fs.writeFileSync(path.join(other, 'fab_pub/sgd-seed0/result.json'), JSON.stringify({ format: 'asam-run/1', status: 'completed', best: { metric: 'test_acc', value: 0.9, epoch: 1 }, final: { metric: 'test_acc', value: 0.9 } }));
    const p = publishResults({ experiments: [exp], profile: 'cpu', runsDir: other, resultsDir, partial: false });
    expect(p.kept).toBe(2);
    expect(JSON.parse(fs.readFileSync(path.join(committedRunsDir(resultsDir), 'fab_pub/sgd-seed0/result.json'), 'utf8')).best.value).toBe(0.5);
    // Republishing from an empty working folder (a new machine) only regenerates the report, and counts the committed cells.
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    const again = publishResults({ experiments: [exp], profile: 'cpu', runsDir: empty, resultsDir, partial: false });
    expect([again.copied, again.kept, again.finished, again.total]).toEqual([0, 2, 2, 2]);
    // A fresh working folder gets the committed cells back.
    const fresh = path.join(root, 'fresh');
    expect(restoreFromCommitted(expandGrid(exp, 'cpu'), fresh, resultsDir)).toEqual({ finished: 2, resumable: 0 });
    expect(fs.existsSync(path.join(fresh, 'fab_pub/sgd-seed0/result.json'))).toBe(true);
  });

  it('restores an unfinished committed cell with its checkpoint, and leaves a working folder that has the cell alone', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    fabricate(runs, ['sgd-seed0']);
    const resultsDir = path.join(root, 'results');
    publishResults({ experiments: [exp], profile: 'cpu', runsDir: runs, resultsDir, partial: true });
    const fresh = path.join(root, 'fresh');
    expect(restoreFromCommitted(expandGrid(exp, 'cpu'), fresh, resultsDir)).toEqual({ finished: 1, resumable: 1 });
    expect(fs.readFileSync(path.join(fresh, 'fab_pub/asam-rho0.5-seed0/checkpoint.bin'), 'utf8')).toBe('weights');
    expect(restoreFromCommitted(expandGrid(exp, 'cpu'), fresh, resultsDir)).toEqual({ finished: 0, resumable: 0 });
  });
});

describe('prepareData', () => {
  const cells = expandGrid(exp, 'cpu');
  const quiet = { write: () => true };
  it('with --no-download: skips the cells, and names the dataset, the folder and how it was chosen, and the fixes, in one line', async () => {
    const dir = tmp();
    const p = await prepareData(cells, dir, 'cache', { allowDownload: false, mirror: null, sink: quiet });
    expect(p.runnable).toEqual([]);
    expect(p.skipped.map((k) => [k.cell.id, k.datasets])).toEqual([['sgd-seed0', ['CIFAR-10']], ['asam-rho0.5-seed0', ['CIFAR-10']]]);
    const m = p.message!;
    expect(m).not.toContain('\n');
    expect(m).toContain('data missing: CIFAR-10 for 2 cell(s) (not downloaded: --no-download)');
    expect(m).toContain(`looked in ${dir} (the default cache)`);
    expect(m).toContain('--data-dir DIR or ASAM_DATA_DIR=DIR');
    expect(m).toContain(`pnpm data:download --dataset cifar10 --data-dir ${dir}`);
    expect((await prepareData(cells, dir, '--data-dir', { allowDownload: false, mirror: null, sink: quiet })).message).toContain('(from --data-dir)');
  });
  it('runs every cell once the files exist, and knows what the other tasks read', async () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'cifar-10-batches-bin'));
    for (const f of ['data_batch_1.bin', 'test_batch.bin']) fs.writeFileSync(path.join(dir, 'cifar-10-batches-bin', f), Buffer.alloc(3073));
    expect(await prepareData(cells, dir, 'ASAM_DATA_DIR', { allowDownload: false, mirror: null, sink: quiet })).toEqual({ runnable: cells, skipped: [], message: null });
    expect(dataNeeds({ task: 'nmt', config: { corpus: 'multi30k' } })[0]!.download).toBe('multi30k');
    expect(dataNeeds({ task: 'scale_invariance', config: {} })).toEqual([]);
    // a step time reads what its kind of cell trains on
    expect(dataNeeds({ task: 'step_time', config: { model: 'resnet20' } })[0]!.dataset).toBe(dataNeeds({ task: 'vision', config: {} })[0]!.dataset);
    expect(dataNeeds({ task: 'step_time', config: { kind: 'nmt', corpus: 'multi30k' } })[0]!.download).toBe('multi30k');
    // ImageNet has no download: its own fix
    const inet = await prepareData([{ ...cells[0]!, config: { dataset: 'imagenet' } }], dir, 'cache', { allowDownload: true, mirror: null, sink: quiet });
    expect(inet.message).toMatch(/ImageNet folder imagenet for 1 cell\(s\) \(no download exists for it\).*prepare imagenet\/train\/<wnid>\/\*\.JPEG/);
  });
});

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('../results', import.meta.url));

function listing(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => {
    const p = path.join(e.parentPath, e.name);
    return `${path.relative(dir, p)} ${fs.statSync(p).size} ${fs.statSync(p).mtimeMs}`;
  }).sort();
}

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function bench(args: string[], env: Record<string, string | undefined> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env: { ...process.env, ASAM_DATA_DIR: '', ...env }, timeout: 120_000 });
}

describe('pnpm bench as a user meets it', () => {
  it('without data and without a reachable host: runs the cells that need no data, lists the skipped ones with the fix, writes the report, exit 2', async () => {
    const before = listing(RESULTS);
    const runs = tmp();
    const r = bench(['--profile', 'smoke', '--experiment', 'scale_invariance,cifar10_resnet20', '--jobs', '1', '--data-dir', path.join(runs, 'no-data'),
      '--mirror', `http://127.0.0.1:${await closedPort()}`], { ASAM_RESULTS_DIR: runs });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/\[bench\] cifar10 is not in .*no-data: downloading 162 MiB from 127\.0\.0\.1:\d+\ncifar10 download failed\n/);
    expect(r.stdout).toContain('[bench] 3 cell(s) skipped for missing data; running the 1 that need none of it');
    expect(r.stdout).toMatch(/cell 1\/1 scale_invariance\/seed0: completed/);
    const err = r.stderr.trim().split('\n');
    expect(err).toEqual([
      '[bench] 3 cell(s) skipped, their data is missing:',
      '  cifar10_resnet20/sgd-seed0 (CIFAR-10)', '  cifar10_resnet20/sam-rho0.05-seed0 (CIFAR-10)', '  cifar10_resnet20/asam-rho0.5-seed0 (CIFAR-10)',
      expect.stringMatching(/^error: data missing: CIFAR-10 for 3 cell\(s\) \(download failed: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED.*\)\); looked in .*no-data \(from --data-dir\)\. Fix: run the same command with network access \(it downloads CIFAR-10 162 MiB\), or fetch from a mirror .*pnpm data:download --dataset cifar10 --data-dir .*\. 3 cell\(s\) skipped\.$/),
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const report = fs.readFileSync(path.join(runs, 'smoke', 'report', 'report.md'), 'utf8');
    expect(report).toContain('## Skipped: data missing');
    expect(report).toContain('- `cifar10_resnet20/asam-rho0.5-seed0` (CIFAR-10)');
    expect(fs.existsSync(path.join(runs, 'smoke', 'scale_invariance', 'seed0', 'result.json'))).toBe(true);
    expect(fs.existsSync(path.join(runs, 'smoke', 'cifar10_resnet20'))).toBe(false);
    expect(fs.readdirSync(path.join(runs, 'no-data'))).toEqual([]);
    expect(listing(RESULTS)).toEqual(before);
  }, 120_000);
  it('--no-download: fetches nothing, runs nothing that needs data, says so; exit 2', () => {
    const runs = tmp();
    const r = bench(['--profile', 'smoke', '--experiment', 'cifar10_resnet20', '--no-download', '--data-dir', path.join(runs, 'no-data')], { ASAM_RESULTS_DIR: runs });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).not.toContain('downloading');
    expect(r.stderr).toMatch(/^error: data missing: CIFAR-10 for 3 cell\(s\) \(not downloaded: --no-download\);.*with network access \(it downloads CIFAR-10 162 MiB\) and without --no-download/m);
    expect(fs.existsSync(path.join(runs, 'smoke', 'report', 'report.md'))).toBe(true);
  });
  it('answers a mistyped flag with the nearest one, takes --flag=value and a leading --', () => {
    const r = bench(['--profil', 'smoke']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/--profil.*--profile/);
    const runs = tmp();
    const l = bench(['--', '--profile=smoke', '--list', '--experiment=scale_invariance'], { ASAM_RESULTS_DIR: runs });
    expect(l.status).toBe(0);
    expect(l.stdout).toContain('scale_invariance/seed0');
    const h = bench(['--help']);
    expect(h.status).toBe(0);
    // One block per option: its first line starts with the flag, wrapped lines are indented further.
    const blocks: string[] = [];
    for (const l of h.stdout.split('\n')) {
      if (/^ {2}(-h, )?--[a-z]/.test(l)) blocks.push(l);
      else if (/^ {6,}\S/.test(l) && blocks.length) blocks[blocks.length - 1] += ` ${l.trim()}`;
    }
    expect(blocks.length).toBeGreaterThan(10);
    for (const b of blocks.filter((x) => !/--help/.test(x))) expect(b, b).toMatch(/default: /);
    const p = bench(['--profile', 'smoke', '--partial']);
    expect(p.status).toBe(2);
    expect(p.stderr.trim()).toBe('error: --partial only applies with --publish');
    const d = bench(['--profile', 'smoke', '--stop-by', 'soon']);
    expect(d.status).toBe(2);
    expect(d.stderr.trim()).toBe('error: --stop-by "soon" is not a deadline: give a duration from now (90m, 2h30m, 45s) or a date-time with its zone (2026-12-07T02:40Z)');
  });
});

describe('pnpm bench paths', () => {
  it('--list changes nothing on disk: committed runs are not copied into the working folder, the estimate reads them where they are', () => {
    const runs = tmp();
    const r = bench(['--profile', 'cpu', '--list'], { ASAM_RESULTS_DIR: runs });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('the working folder has none of these cells yet: estimate from the committed runs in');
    expect(fs.readdirSync(runs)).toEqual([]);
  });

  it('takes a relative --out from the directory the user ran the command in ($INIT_CWD under pnpm)', () => {
    const home = tmp();
    const r = bench(['--profile', 'smoke', '--experiment', 'scale_invariance', '--out', 'my-runs', '--list'], { INIT_CWD: home });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`runs in ${path.join(home, 'my-runs')}`);
  });
});

