/**
 * Command lines of bench:engine, profile:engine and soak:engine: parsing in-process, and the programs themselves
 * (spawned) for exit codes and stderr — only with flags that end the program before any tfjs work.
 */
import { CliExit, UsageError } from '@asam/cli';
import { BACKEND_NAMES } from '@asam/engine';
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  ENGINE_BACKENDS, engineBenchCommand, parseBackendList, parseEngineBenchArgs, parseProfileArgs, parseSoakArgs, profileCommand, soakCommand,
} from './options.ts';

/** Run from /home/u/work with pnpm (whose scripts run in the package folder /repo/benchmarks). */
const PNPM = { env: { INIT_CWD: '/home/u/work' }, cwd: '/repo/benchmarks' };
/** Run directly (no $INIT_CWD) from /home/u/work. */
const DIRECT = { env: {}, cwd: '/home/u/work' };

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

/** Help text with one line per option (no wrapping), as `--help` prints it. */
function helpLines(cmd: ReturnType<typeof engineBenchCommand>): string[] {
  cmd.configureHelp({ helpWidth: 1000 });
  return cmd.helpInformation().split('\n');
}

describe('bench:engine flags', () => {
  it('defaults: batch 128, Transformer 32x32, 5 rounds, every backend, torch and data-parallel on', () => {
    expect(parseEngineBenchArgs([], DIRECT)).toEqual({
      steps: 5, batch: 128, tfmBatch: 32, seq: 32, cpuBatch: 8, cpuTfmBatch: 2, cpuSteps: 1,
      backends: undefined, torch: true, dataParallel: true, out: undefined, quick: false, readme: [],
    });
  });

  it('--quick: batch 8, Transformer 2x8, 1 round, wasm only, no torch; explicit flags still win', () => {
    expect(parseEngineBenchArgs(['--quick'], DIRECT)).toEqual({
      steps: 1, batch: 8, tfmBatch: 2, seq: 8, cpuBatch: 8, cpuTfmBatch: 2, cpuSteps: 1,
      backends: ['wasm'], torch: false, dataParallel: true, out: undefined, quick: true, readme: [],
    });
    expect(parseEngineBenchArgs(['--quick', '--batch', '16', '--backends', 'wasm,cpu', '--steps=3', '--seq', '12', '--tfm-batch', '4'], DIRECT))
      .toMatchObject({ batch: 16, backends: ['wasm', 'cpu'], steps: 3, seq: 12, tfmBatch: 4, torch: false, quick: true });
    // the order of the flags does not matter: --quick after an explicit flag does not override it
    expect(parseEngineBenchArgs(['--batch', '16', '--quick'], DIRECT)).toMatchObject({ batch: 16, steps: 1 });
  });

  it('reads every flag as --flag value, --flag=value, after a leading --', () => {
    const expected = {
      steps: 2, batch: 5, tfmBatch: 4, seq: 16, cpuBatch: 2, cpuTfmBatch: 1, cpuSteps: 3,
      backends: ['cpu', 'wasm'], torch: false, dataParallel: false, out: '/home/u/work/x.json', quick: false, readme: [],
    };
    expect(parseEngineBenchArgs(['--steps', '2', '--tfm-batch', '4', '--seq', '16', '--cpu-batch', '2', '--cpu-tfm-batch', '1',
      '--cpu-steps', '3', '--backends', 'cpu,wasm,cpu', '--no-torch', '--no-data-parallel', '--batch', '5', '--out', 'x.json'], DIRECT)).toEqual(expected);
    expect(parseEngineBenchArgs(['--', '--steps=2', '--tfm-batch=4', '--seq=16', '--cpu-batch=2', '--cpu-tfm-batch=1',
      '--cpu-steps=3', '--backends= cpu, wasm', '--no-torch', '--no-data-parallel', '--batch=5', '--out=x.json'], DIRECT)).toEqual(expected);
  });

  it('--no-torch and --no-data-parallel each turn off only their own part', () => {
    expect(parseEngineBenchArgs(['--no-torch'], DIRECT)).toMatchObject({ torch: false, dataParallel: true });
    expect(parseEngineBenchArgs(['--no-data-parallel'], DIRECT)).toMatchObject({ torch: true, dataParallel: false });
    // an odd batch is fine once the data-parallel figure is off
    expect(parseEngineBenchArgs(['--batch', '7', '--no-data-parallel'], DIRECT)).toMatchObject({ batch: 7, dataParallel: false });
  });

  it('--readme takes comma-separated files from the directory the command was run in', () => {
    expect(parseEngineBenchArgs(['--readme', 'README.md, packages/engine/README.md'], DIRECT).readme)
      .toEqual(['/home/u/work/README.md', '/home/u/work/packages/engine/README.md']);
  });

  it('--out is taken from the directory the command was run in ($INIT_CWD under pnpm); absolute paths stay', () => {
    expect(parseEngineBenchArgs(['--out', 'r/e.json'], PNPM).out).toBe('/home/u/work/r/e.json');
    expect(parseEngineBenchArgs(['--out', '../e.json'], DIRECT).out).toBe('/home/u/e.json');
    expect(parseEngineBenchArgs(['--out=/tmp/e.json'], PNPM).out).toBe('/tmp/e.json');
  });

  it('refuses mistakes with one-line UsageErrors naming the flag (nearest flag for an unknown one)', () => {
    expect(usageError(() => parseEngineBenchArgs(['--stepz', '1'], DIRECT))).toBe('unknown flag "--stepz"; did you mean --steps? (see --help)');
    expect(usageError(() => parseEngineBenchArgs(['--no-torhc'], DIRECT))).toMatch(/^unknown flag "--no-torhc"; did you mean --no-torch\?/);
    expect(usageError(() => parseEngineBenchArgs(['--tfm-bath=2'], DIRECT))).toMatch(/did you mean --tfm-batch\?/);
    expect(usageError(() => parseEngineBenchArgs(['--steps', '0'], DIRECT))).toBe('--steps 0 must be >= 1');
    expect(usageError(() => parseEngineBenchArgs(['--seq', '2.5'], DIRECT))).toBe('--seq 2.5 must be an integer');
    expect(usageError(() => parseEngineBenchArgs(['--seq', '3'], DIRECT))).toBe('--seq 3 must be >= 4');
    expect(usageError(() => parseEngineBenchArgs(['--batch', 'many'], DIRECT))).toBe('--batch "many" is not a number');
    expect(usageError(() => parseEngineBenchArgs(['--batch'], DIRECT))).toBe('--batch needs a value');
    expect(usageError(() => parseEngineBenchArgs(['--batch', '--quick'], DIRECT))).toMatch(/^--batch needs a value/);
    expect(usageError(() => parseEngineBenchArgs(['--no-torch=yes'], DIRECT))).toBe('--no-torch is a switch and takes no value (got "--no-torch=yes")');
    expect(usageError(() => parseEngineBenchArgs(['wasm'], DIRECT))).toMatch(/^unexpected argument "wasm"/);
    expect(usageError(() => parseEngineBenchArgs(['--batch', '7'], DIRECT))).toBe('--batch 7 cannot be split over 2 data-parallel workers; use an even batch or --no-data-parallel');
    expect(usageError(() => parseEngineBenchArgs(['--quick', '--batch', '9'], DIRECT))).toMatch(/^--batch 9 cannot be split/);
    expect(usageError(() => parseEngineBenchArgs(['--backends', 'wasm,gpu'], DIRECT)))
      .toBe('--backends: unknown backend "gpu"; expected one of tensorflow-gpu, tensorflow, webgpu, wasm, cpu (did you mean cpu?)');
    expect(usageError(() => parseEngineBenchArgs(['--backends', 'wsam'], DIRECT))).toMatch(/did you mean wasm\?\)$/);
    expect(usageError(() => parseEngineBenchArgs(['--backends', ' , '], DIRECT))).toMatch(/^--backends " , " names no backend/);
    expect(usageError(() => parseEngineBenchArgs(['--out', ''], DIRECT))).toBe('--out needs a non-empty path');
  });

  it('--backends: names checked, duplicates dropped, order kept; the names are @asam/engine\'s', () => {
    expect(ENGINE_BACKENDS).toEqual([...BACKEND_NAMES]);
    expect(parseBackendList('cpu,wasm,cpu')).toEqual(['cpu', 'wasm']);
    expect(() => parseBackendList('auto')).toThrow(UsageError);
  });

  it('--help lists every flag with its default, --quick defaults included; parsing --help ends with CliExit(0)', () => {
    const lines = helpLines(engineBenchCommand());
    const flags = ['--steps', '--batch', '--tfm-batch', '--seq', '--cpu-batch', '--cpu-tfm-batch', '--cpu-steps', '--backends',
      '--no-torch', '--no-data-parallel', '--out', '--quick'];
    for (const f of flags) {
      const line = lines.find((l) => l.trimStart().startsWith(`${f} `));
      expect(line, f).toBeDefined();
      expect(line, f).toMatch(/\(.*default: .*\)$/);
    }
    const text = lines.join('\n');
    expect(text).toContain('(default: 5; --quick: 1)');
    expect(text).toContain('(default: 128; --quick: 8)');
    expect(text).toMatch(/--no-torch +skip the PyTorch peer \(default: off, .*--quick: on\)/);
    expect(text).toMatch(/--no-data-parallel +skip .*\(default: off, it is measured\)/);
    let exit: unknown;
    try {
      parseEngineBenchArgsQuiet(['--help']);
    } catch (e) {
      exit = e;
    }
    expect(exit).toBeInstanceOf(CliExit);
    expect((exit as CliExit).code).toBe(0);
  });
});

/** parseEngineBenchArgs with stdout muted (commander prints help to stdout). */
function parseEngineBenchArgsQuiet(argv: string[]): void {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    parseEngineBenchArgs(argv, DIRECT);
  } finally {
    process.stdout.write = write;
  }
}

describe('profile:engine flags', () => {
  it('defaults: resnet20 at batch 128 (transformer: 32 pairs), wasm, sgd, top 25', () => {
    expect(parseProfileArgs([], DIRECT)).toEqual({ model: 'resnet20', backend: 'wasm', batch: 128, kind: 'sgd', top: 25, byShape: false, out: undefined });
    expect(parseProfileArgs(['--model', 'transformer'], DIRECT)).toMatchObject({ model: 'transformer', batch: 32 });
    expect(parseProfileArgs(['--model=transformer', '--batch=4'], DIRECT)).toMatchObject({ model: 'transformer', batch: 4 });
  });

  it('reads every flag as --flag value, --flag=value, after a leading --; --out from the user\'s directory', () => {
    const expected = { model: 'transformer', backend: 'cpu', batch: 3, kind: 'asam', top: 5, byShape: true, out: '/home/u/work/p.json' };
    expect(parseProfileArgs(['--model', 'transformer', '--backend', 'cpu', '--batch', '3', '--kind', 'asam', '--top', '5', '--by-shape', '--out', 'p.json'], PNPM))
      .toEqual(expected);
    expect(parseProfileArgs(['--', '--model=transformer', '--backend=cpu', '--batch=3', '--kind=asam', '--top=5', '--by-shape', '--out=p.json'], DIRECT))
      .toEqual(expected);
  });

  it('refuses mistakes with one-line UsageErrors', () => {
    expect(usageError(() => parseProfileArgs(['--by-shap'], DIRECT))).toBe('unknown flag "--by-shap"; did you mean --by-shape? (see --help)');
    expect(usageError(() => parseProfileArgs(['--model', 'resnet'], DIRECT))).toBe('--model "resnet" is not valid; expected one of resnet20, transformer (did you mean resnet20?)');
    expect(usageError(() => parseProfileArgs(['--kind', 'asan'], DIRECT))).toMatch(/^--kind "asan" is not valid; expected one of sgd, sam, asam \(did you mean asam\?\)/);
    expect(usageError(() => parseProfileArgs(['--backend', 'wasn'], DIRECT))).toMatch(/^--backend "wasn" is not valid; .*\(did you mean wasm\?\)/);
    expect(usageError(() => parseProfileArgs(['--top', '0'], DIRECT))).toBe('--top 0 must be >= 1');
    expect(usageError(() => parseProfileArgs(['--batch'], DIRECT))).toBe('--batch needs a value');
  });

  it('--help lists every flag with its default', () => {
    const lines = helpLines(profileCommand());
    for (const f of ['--model', '--backend', '--batch', '--kind', '--top', '--by-shape', '--out']) {
      expect(lines.find((l) => l.trimStart().startsWith(`${f} `)), f).toMatch(/\(.*default: .*\)$/);
    }
    expect(lines.join('\n')).toContain('(default: 128 for resnet20, 32 for transformer)');
  });
});

describe('soak:engine flags', () => {
  it('defaults: 500 steps sampled every 25, ResNet-20 b32, Transformer 8x32, wasm', () => {
    expect(parseSoakArgs([], DIRECT)).toEqual({ steps: 500, every: 25, batch: 32, tfmBatch: 8, seq: 32, backend: 'wasm', out: undefined });
  });

  it('reads every flag as --flag value, --flag=value, after a leading --; --out from the user\'s directory', () => {
    const expected = { steps: 4, every: 2, batch: 2, tfmBatch: 1, seq: 6, backend: 'cpu', out: '/home/u/work/s.json' };
    expect(parseSoakArgs(['--steps', '4', '--every', '2', '--batch', '2', '--tfm-batch', '1', '--seq', '6', '--backend', 'cpu', '--out', 's.json'], PNPM)).toEqual(expected);
    expect(parseSoakArgs(['--', '--steps=4', '--every=2', '--batch=2', '--tfm-batch=1', '--seq=6', '--backend=cpu', '--out=s.json'], DIRECT)).toEqual(expected);
  });

  it('refuses mistakes with one-line UsageErrors', () => {
    expect(usageError(() => parseSoakArgs(['--evry', '5'], DIRECT))).toBe('unknown flag "--evry"; did you mean --every? (see --help)');
    expect(usageError(() => parseSoakArgs(['--steps', '4', '--every', '5'], DIRECT))).toBe('--every 5 must not exceed --steps 4');
    expect(usageError(() => parseSoakArgs(['--every', '600'], DIRECT))).toBe('--every 600 must not exceed --steps 500');
    expect(usageError(() => parseSoakArgs(['--batch', '0'], DIRECT))).toBe('--batch 0 must be >= 1');
    expect(usageError(() => parseSoakArgs(['--seq', '3'], DIRECT))).toBe('--seq 3 must be >= 4');
  });

  it('--help lists every flag with its default', () => {
    const lines = helpLines(soakCommand());
    for (const f of ['--steps', '--every', '--batch', '--tfm-batch', '--seq', '--backend', '--out']) {
      expect(lines.find((l) => l.trimStart().startsWith(`${f} `)), f).toMatch(/\(.*default: .*\)$/);
    }
    expect(lines.join('\n')).toContain('(default: 500)');
  });
});

interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs one of the engine programs with `node --import tsx`, as `pnpm <script>` does. */
function runProgram(file: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', new URL(file, import.meta.url).pathname, ...args],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
}

/** Help text with its wrapped lines joined (the wrap width depends on nothing the test controls). */
const flat = (s: string): string => s.replace(/\s+/g, ' ');

/** A user error: exit code 2, nothing on stdout, exactly `error: <message>` as one line on stderr. */
function expectUserError(r: Ran, message: string): void {
  expect(r.stderr).toBe(`error: ${message}\n`);
  expect(r.stdout).toBe('');
  expect(r.code).toBe(2);
}

describe('the programs (exit codes and stderr; flags that stop them before tfjs loads)', () => {
  it('bench:engine: unknown flag, bad value, odd batch → one line and exit 2; --help → defaults and exit 0', async () => {
    const [unknown, bad, odd, help] = await Promise.all([
      runProgram('./cli.ts', ['--', '--stepz', '1']),
      runProgram('./cli.ts', ['--steps=0']),
      runProgram('./cli.ts', ['--quick', '--batch', '7']),
      runProgram('./cli.ts', ['--', '--help']),
    ]);
    expectUserError(unknown, 'unknown flag "--stepz"; did you mean --steps? (see --help)');
    expectUserError(bad, '--steps 0 must be >= 1');
    expectUserError(odd, '--batch 7 cannot be split over 2 data-parallel workers; use an even batch or --no-data-parallel');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pnpm bench:engine -- /);
    expect(flat(help.stdout)).toMatch(/--no-torch +skip the PyTorch peer \(default: off/);
    expect(flat(help.stdout)).toContain('(default: 5; --quick: 1)');
  }, 90_000);

  it('profile:engine: unknown flag, bad choice → one line and exit 2; --help → defaults and exit 0', async () => {
    const [unknown, choice, help] = await Promise.all([
      runProgram('./profile.ts', ['--by-shap']),
      runProgram('./profile.ts', ['--', '--model=resnet']),
      runProgram('./profile.ts', ['--help']),
    ]);
    expectUserError(unknown, 'unknown flag "--by-shap"; did you mean --by-shape? (see --help)');
    expectUserError(choice, '--model "resnet" is not valid; expected one of resnet20, transformer (did you mean resnet20?)');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pnpm --filter @asam\/benchmarks profile:engine -- /);
    expect(flat(help.stdout)).toContain('(default: 128 for resnet20, 32 for transformer)');
  }, 90_000);

  it('soak:engine: unknown flag, --every above --steps → one line and exit 2; --help → defaults and exit 0', async () => {
    const [unknown, every, help] = await Promise.all([
      runProgram('./soak.ts', ['--step', '4']),
      runProgram('./soak.ts', ['--steps', '4', '--every=5'], { INIT_CWD: '/tmp' }),
      runProgram('./soak.ts', ['-h']),
    ]);
    expectUserError(unknown, 'unknown flag "--step"; did you mean --steps? (see --help)');
    expectUserError(every, '--every 5 must not exceed --steps 4');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pnpm --filter @asam\/benchmarks soak:engine -- /);
    expect(flat(help.stdout)).toContain('(default: 500)');
  }, 90_000);
});
