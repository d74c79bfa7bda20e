/**
 * The training CLI as a user meets it: spawned with tsx in the package folder (as `pnpm --filter @asam/nmt train`
 * runs it) with $INIT_CWD set to another folder, on a small Multi30k-format corpus written here (no data folder
 * needed; the SentencePiece model is trained by spm_train, as in the tokenizer tests).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@asam/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(pkg, 'src', 'cli.ts');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

/** The folder the "user" runs the command in; relative paths must land here, not in the package folder. */
let user: string;

/** Word-for-word German/English pairs in Multi30k's raw layout: multi30k/raw/<split>.{de,en}. */
function writeMulti30k(root: string): void {
  const de = ['ein', 'mann', 'frau', 'hund', 'katze', 'sitzt', 'läuft', 'auf', 'der', 'straße', 'im', 'park', 'mit', 'einem', 'ball'];
  const en = ['a', 'man', 'woman', 'dog', 'cat', 'sits', 'runs', 'on', 'the', 'street', 'in', 'park', 'with', 'one', 'ball'];
  const dir = join(root, 'multi30k', 'raw');
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(7);
  for (const [split, n] of [['train', 60], ['val', 8], ['test_2016_flickr', 8]] as const) {
    const src: string[] = [];
    const tgt: string[] = [];
    for (let i = 0; i < n; i++) {
      const w = Array.from({ length: 3 + rng.int(5) }, () => rng.int(de.length));
      src.push(w.map((j) => de[j]).join(' ') + ' .');
      tgt.push(w.map((j) => en[j]).join(' ') + ' .');
    }
    writeFileSync(join(dir, `${split}.de`), src.join('\n') + '\n');
    writeFileSync(join(dir, `${split}.en`), tgt.join('\n') + '\n');
  }
}

beforeAll(() => {
  user = mkdtempSync(join(tmpdir(), 'asam-nmt-cli-'));
  writeMulti30k(join(user, 'data'));
});
afterAll(() => rmSync(user, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const base = { ...process.env };
  for (const k of ['INIT_CWD', 'ASAM_DATA_DIR', 'ASAM_CACHE_DIR', 'ASAM_BACKEND']) delete base[k];
  const r = spawnSync(process.execPath, [tsxCli, cli, ...args], { cwd: pkg, env: { ...base, INIT_CWD: user, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * env.json's git SHA is the checkout's commit: HEAD when the run started, so HEAD now or one of its ancestors (other
 * commits may land while the test runs); null only outside a git checkout.
 */
function expectGitSha(sha: string | null): void {
  const inGit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: pkg, encoding: 'utf8' }).status === 0;
  if (!inGit) return expect(sha).toBeNull();
  expect(sha).toMatch(/^[0-9a-f]{40}$/);
  expect(spawnSync('git', ['merge-base', '--is-ancestor', sha!, 'HEAD'], { cwd: pkg }).status).toBe(0);
}

/** A user error: exit 2 and exactly one line on stderr, no stack trace. */
function expectUserError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(pattern);
}

// pnpm passes its `--` through; flags in both the `--flag value` and the `--flag=value` form
const tiny = ['--', '--preset=transformer_tiny', '--optimizer', 'asam', '--max-updates', '4', '--max-tokens=64', '--max-len', '16',
  '--vocab-size', '48', '--search', 'greedy', '--warmup', '2', '--backend', 'cpu', '--data-dir', 'data', '--cache-dir', 'cache'];

describe('nmt CLI', () => {
  it('--help lists every flag with its default and the shared method and backend names; exit 0', () => {
    const r = run(['--', '--help']);
    expect(r.status, r.stderr).toBe(0);
    const entries: string[] = [];
    for (const l of r.stdout.split('\n')) {
      if (/^ {2}(-h, )?--[a-z]/.test(l)) entries.push(l.trim());
      else if (/^ {6,}\S/.test(l) && entries.length > 0) entries[entries.length - 1] += ' ' + l.trim();
      else if (entries.length > 0 && l.trim() === '') break;
    }
    expect(entries.length).toBeGreaterThan(30);
    for (const e of entries.filter((x) => !x.startsWith('-h, --help'))) expect(e).toMatch(/default: /);
    const text = entries.join('\n');
    expect(text).toMatch(/--optimizer <method> +adam = Adam alone \(the base optimizer\), sam = Adam\+SAM, asam = Adam\+ASAM.*one of adam \| sam \| asam; default: adam/);
    expect(text).toMatch(/--backend <name> .*one of auto \| tensorflow-gpu \| tensorflow \| webgpu \| wasm \| cpu; default: \$ASAM_BACKEND, else auto/);
    expect(text).toMatch(/--data-dir <dir> .*default: \$ASAM_DATA_DIR/);
    expect(text).toMatch(/--resume .*default: off/);
    expect(text).toMatch(/--rho <x> .*default: sam 0\.1, asam 0\.2/);
  }, 60_000);

  it('unknown flags, bad values and config errors: one line, exit 2, nothing written', () => {
    expectUserError(run(['--no-resume', '--out', 'x']), /unknown flag "--no-resume"; did you mean --resume\?/);
    expectUserError(run(['--max-update', '5', '--out', 'x']), /unknown flag "--max-update"; did you mean --max-updates\?/);
    // the runtime's names (--epochs, --max-steps) and the fairseq-style aliases name one setting each
    expectUserError(run(['--epochs', '2', '--max-epochs', '3', '--out', 'x', '--data-dir', 'data']), /--epochs and --max-epochs name the same setting; give one/);
    expectUserError(run(['--max-steps', '2', '--max-updates', '3', '--out', 'x', '--data-dir', 'data']), /--max-steps and --max-updates name the same setting; give one/);
    expectUserError(run(['--optimizer', 'sgd', '--out', 'x']), /--optimizer "sgd" is not valid; expected one of adam, sam, asam: the base optimizer of translation is Adam: use --optimizer adam/);
    expectUserError(run(['--beam=two', '--out', 'x']), /--beam "two" is not a number/);
    expectUserError(run(['--test-split', 'test', '--out', 'x', '--data-dir', 'data']), /Invalid translation config 'testSplit': got "test"; expected one of test2016/);
    expectUserError(run(['--preset', 'transformer_tiny']), /--out is required/);
    expect(existsSync(join(user, 'x'))).toBe(false);
  }, 120_000);

  it('missing data is a user error and leaves no run folder behind', () => {
    expectUserError(run([...tiny, '--data-dir', 'no-data', '--no-download', '--out', 'no-data/run']), /Multi30k train \(de\) not found\. Looked in: .*no-data.*train\.de.*; To get it: pnpm data:download --dataset multi30k/);
    expect(existsSync(join(user, 'no-data'))).toBe(false);
  }, 60_000);

  it('a run: paths from $INIT_CWD, log.txt, env.json; a second start is refused; --resume of a finished run changes nothing, of an unfinished one continues it; --overwrite starts again', () => {
    const out = join(user, 'runs', 'n1');
    const a = run([...tiny, '--out', 'runs/n1']);
    expect(a.status, a.stderr).toBe(0);
    expect(existsSync(join(pkg, 'runs'))).toBe(false);
    expect(existsSync(join(user, 'cache'))).toBe(true);
    for (const f of ['config.json', 'env.json', 'log.txt', 'metrics.csv', 'result.json', 'samples.txt', 'checkpoint.bin']) expect(existsSync(join(out, f)), f).toBe(true);
    const log = readFileSync(join(out, 'log.txt'), 'utf8');
    expect(log).toBe(a.stdout + a.stderr);
    expect(log).toMatch(/\[nmt\] backend cpu .*tried: /);
    expect(log).toMatch(/optimizer Adam\+ASAM rho 0\.2/);
    // the completion line says which BLEU is which
    expect(a.stdout, a.stdout).toMatch(/\[nmt\] completed: .*final test_bleu \d+\.\d+ \(sacreBLEU; \d+\.\d\d on tokenized text, as fairseq scores it\), \S+ wall; /);
    const env = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    expectGitSha(env.git.sha);
    expect(env.machine.cpuModel).toBe(cpus()[0]?.model ?? null);
    expect(env.versions.node).toBe(process.version);
    expect(env.versions.tfjsCore).toMatch(/^\d+\.\d+\.\d+$/);
    expect(env.backend).toMatchObject({ backend: 'cpu', requested: 'cpu', attempts: [{ name: 'cpu', ok: true, error: null }] });
    expect(env.command.cwd).toBe(user);
    expect([env.dataDir, env.cacheDir]).toEqual([join(user, 'data'), join(user, 'cache')]);
    const envText = readFileSync(join(out, 'env.json'), 'utf8');
    const resultText = readFileSync(join(out, 'result.json'), 'utf8');

    // the same command again (what --no-resume used to overwrite silently): refused
    expectUserError(run([...tiny, '--out', 'runs/n1']), /runs\/n1 already holds a run \(.*status completed\); pass --resume to continue it, --overwrite to delete it/);
    // --resume of the finished run: reported, nothing written
    const f = run(['--resume', '--out', 'runs/n1']);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout).toMatch(/is a finished run \(status completed: .*\); nothing to resume/);
    expect(readFileSync(join(out, 'env.json'), 'utf8')).toBe(envText);
    expect(readFileSync(join(out, 'result.json'), 'utf8')).toBe(resultText);
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe(log);
    expect(existsSync(join(out, 'env-resume.jsonl'))).toBe(false);
    expectUserError(run(['--resume', '--out', 'runs/n1', '--lr', '1e-3']), /--resume reuses .*config\.json; drop --lr \(only --backend, --data-dir, --no-download, --mirror, --cache-dir, --max-updates/);

    // unfinished (checkpoint there, result not yet): --resume continues with the saved config; env.json stays
    rmSync(join(out, 'result.json'));
    const r = run(['--resume', '--out=runs/n1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[nmt\] resuming: .*optimizer Adam\+ASAM rho 0\.2/);
    expect(r.stdout).toMatch(/resumed from .*checkpoint\.bin/);
    expect(readFileSync(join(out, 'env.json'), 'utf8')).toBe(envText);
    const resumes = readFileSync(join(out, 'env-resume.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(resumes).toHaveLength(1);
    expect(resumes[0].backend.backend).toBe('cpu');
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe(log + r.stdout + r.stderr);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).status).toBe('completed');

    // --overwrite: a new run with other settings
    const o = run([...tiny, '--optimizer=adam', '--overwrite', '--out', 'runs/n1']);
    expect(o.status, o.stderr).toBe(0);
    expect(existsSync(join(out, 'env-resume.jsonl'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'env.json'), 'utf8')).pid).not.toBe(env.pid);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).config.optimizer).toMatchObject({ method: 'none', rho: 0 });
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toBe(o.stdout + o.stderr);
  }, 300_000);

  it('a resumed run reads the tokenizer it started with from its folder: resumes with an empty cache and no spm_train', () => {
    const out = join(user, 'runs', 'n2');
    const a = run([...tiny, '--out', 'runs/n2']);
    expect(a.status, a.stderr).toBe(0);
    const models = readdirSync(join(user, 'cache'), { recursive: true }).map(String).filter((f) => f.endsWith('.model'));
    expect(models).toHaveLength(1);
    expect(readFileSync(join(out, 'tokenizer.model'))).toEqual(readFileSync(join(user, 'cache', models[0]!)));
    // as if copied to a machine without the cache or the trainer: the resume needs neither
    rmSync(join(out, 'result.json'));
    const r = run(['--resume', '--out', 'runs/n2', '--cache-dir', 'empty-cache'], { PATH: join(user, 'no-tools-here') });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resumed from .*checkpoint\.bin/);
    expect(existsSync(join(user, 'empty-cache'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).status).toBe('completed');
  }, 300_000);

  it('Ctrl-C: "stopping at the next step…", a checkpoint there, status stopped, the resume command, exit 130', async () => {
    const out = join(user, 'runs', 'stopped');
    const args = [...tiny.slice(1).filter((a, i, all) => a !== '--max-updates' && all[i - 1] !== '--max-updates'), '--max-updates', '100000', '--max-epochs', '1000',
      '--progress-every', '1', '--out', 'runs/stopped'];
    const r = await runUntil(args, /^epoch 1\/1000 step 1\//m);
    expect(r.status, r.stderr).toBe(130);
    expect(r.stdout).toContain('[nmt] SIGINT: stopping at the next step… (it writes a checkpoint there; Ctrl-C again stops at once)');
    expect(r.stdout).toMatch(/\[nmt\] stop requested: checkpoint at (epoch \d+, step \d+ \(global \d+\)|the end of epoch \d+); the run resumes from it/);
    expect(r.stdout).toContain(`resume with: pnpm --filter @asam/nmt train -- --resume --out ${out}`);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).status).toBe('stopped');
    expect(existsSync(join(out, 'checkpoint.bin'))).toBe(true);
  }, 300_000);

  it('--resume with a damaged tokenizer.model or best.bin, or a config.json of another program: one line naming the file and the fix, exit 2, nothing lost', () => {
    const src = join(user, 'runs', 'n-intact');
    const made = run([...tiny, '--out', 'runs/n-intact']);
    expect(made.status, made.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(src, 'result.json'), 'utf8'));
    writeFileSync(join(src, 'result.json'), JSON.stringify({ ...result, status: 'stopped' }));
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      ['damaged tokenizer', (d) => writeFileSync(join(d, 'tokenizer.model'), 'not a model'),
        /tokenizer\.model is not a SentencePiece model this run can read \(.*\): the file is damaged or not this run's; fix: pass --overwrite to delete the run and start again/],
      ['truncated best.bin', (d) => writeFileSync(join(d, 'best.bin'), readFileSync(join(d, 'best.bin')).subarray(0, 64)),
        /best\.bin is truncated: .*; fix: remove best\.bin \(the final test then uses the next epoch that beats the best so far, or is skipped\), or pass --overwrite/],
      ['vision config', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ model: 'resnet20', epochs: 3 })),
        /config\.json is not a translation config this program can resume: .*; fix: pass --overwrite to delete the run and start again/],
    ];
    for (const [name, damage, message] of cases) {
      const rel = `runs/n-damaged-${name.replace(/\W+/g, '-')}`;
      const dir = join(user, rel);
      cpSync(src, dir, { recursive: true });
      damage(dir);
      const before = Object.fromEntries(readdirSync(dir).filter((f) => f !== 'log.txt' && f !== 'env-resume.jsonl').map((f) => [f, readFileSync(join(dir, f))]));
      const r = run(['--resume', '--out', rel]);
      expectUserError(r, message);
      expect(r.stderr, name).toContain(dir);
      for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(dir, f)).equals(bytes), `${name}: ${f}`).toBe(true);
    }
  }, 300_000);
});

/**
 * Runs the CLI the way `pnpm --filter @asam/nmt train` does (`node --import tsx`: the process that trains is the one
 * that gets the signal) and sends it SIGINT (Ctrl-C) once its output matches `when`; resolves when it has exited.
 */
function runUntil(args: string[], when: RegExp): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const k of ['INIT_CWD', 'ASAM_DATA_DIR', 'ASAM_CACHE_DIR', 'ASAM_BACKEND']) delete base[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: pkg, env: { ...base, INIT_CWD: user } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (!sent && when.test(stdout)) { sent = true; child.kill('SIGINT'); }
    });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
