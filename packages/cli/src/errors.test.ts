import { describe, expect, it } from 'vitest';
import { CliExit, UsageError, isUserError, oneLine, runCli } from './errors.ts';

async function run(main: () => Promise<number | void>, userErrors?: Array<new (m: string) => Error>): Promise<{ code: number | undefined; err: string }> {
  let err = '';
  let code: number | undefined;
  await runCli(main, { stderr: { write: (s: string) => { err += s; } }, exit: (c) => { code = c; }, ...(userErrors ? { userErrors } : {}) });
  return { code, err };
}

class TrainConfigError extends Error {
  constructor(m: string) {
    super(m);
    this.name = 'TrainConfigError';
  }
}

describe('runCli', () => {
  it('exits 0 (or with the returned code) on success', async () => {
    expect(await run(async () => {})).toEqual({ code: 0, err: '' });
    expect(await run(async () => 3)).toEqual({ code: 3, err: '' });
  });

  it('prints a user error as one line and exits 2', async () => {
    expect(await run(async () => { throw new UsageError('--out is required'); })).toEqual({ code: 2, err: 'error: --out is required\n' });
    const cfg = await run(async () => { throw new TrainConfigError("config.lr = -1: expected a number > 0"); });
    expect(cfg).toEqual({ code: 2, err: 'error: config.lr = -1: expected a number > 0\n' });
    const data = new Error('CIFAR-10 train split not found.\n  Looked in:\n    - /a\n    - /b\n  To get it: pnpm fetch');
    data.name = 'DataNotFoundError';
    expect(await run(async () => { throw data; })).toEqual({ code: 2, err: 'error: CIFAR-10 train split not found. Looked in: /a, /b; To get it: pnpm fetch\n' });
  });

  it('treats the trainers\' resume refusals, a missing external tool, @asam/train\'s config errors and unknown registry ids as user errors', async () => {
    for (const name of ['ResumeError', 'MissingToolError', 'ConfigError', 'UnknownIdError']) {
      const e = new Error(`${name}: what to do`);
      e.name = name;
      expect(await run(async () => { throw e; })).toEqual({ code: 2, err: `error: ${name}: what to do\n` });
    }
  });

  it('treats extra classes as user errors when asked', async () => {
    class Mine extends Error {}
    expect((await run(async () => { throw new Mine('bad'); }, [Mine])).code).toBe(2);
    expect((await run(async () => { throw new Mine('bad'); })).code).toBe(1);
  });

  it('a bug exits 1 with its stack; CliExit ends quietly', async () => {
    const bug = await run(async () => { throw new TypeError('x is undefined'); });
    expect(bug.code).toBe(1);
    expect(bug.err).toMatch(/^error: TypeError: x is undefined\n\s+at /);
    expect(await run(async () => { throw new CliExit(0); })).toEqual({ code: 0, err: '' });
  });
});

describe('oneLine / isUserError', () => {
  it('collapses lines and recognises user errors by name', () => {
    expect(oneLine('a\n\n  b  \r\nc')).toBe('a b c');
    expect(oneLine('- x\n- y\nz')).toBe('x, y; z');
    expect(isUserError(new UsageError('x'))).toBe(true);
    expect(isUserError(new Error('x'))).toBe(false);
    expect(isUserError('x')).toBe(false);
  });
});
