import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { CliExit, UsageError } from './errors.ts';
import { addOption, addSharedOptions, backendFrom, createCommand, givenFlags, nativeKernelsFrom, nearest, parseCommand } from './command.ts';

function demo(env: Record<string, string | undefined> = {}, cwd = '/work/pkg'): Command {
  const cmd = createCommand({ name: 'demo', description: 'a demo', env, cwd });
  addSharedOptions(cmd, { out: {}, optimizer: { default: 'asam' }, dataDir: true, resume: true, backend: true });
  addOption(cmd, { flags: '--epochs <n>', kind: 'int', min: 1, default: 3, help: 'passes' });
  addOption(cmd, { flags: '--lr <x>', kind: 'number', defaultText: '0.1 (ImageNet 0.2)', help: 'learning rate' });
  addOption(cmd, { flags: '--schedule <s>', choices: ['cosine', 'constant'], default: 'cosine', help: 'lr schedule' });
  return cmd;
}

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseCommand', () => {
  it('reads --flag value and --flag=value alike, with defaults for the rest', () => {
    const a = parseCommand(demo(), ['--epochs', '5', '--lr=0.5', '--optimizer', 'sam']);
    const b = parseCommand(demo(), ['--epochs=5', '--lr', '0.5', '--optimizer=sam']);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ epochs: 5, lr: 0.5, optimizer: 'sam', schedule: 'cosine' });
    const d = parseCommand(demo(), []);
    expect(d).toMatchObject({ epochs: 3, optimizer: 'asam' });
    expect([d.lr, d.resume, d.out]).toEqual([undefined, undefined, undefined]);
  });

  it('accepts a bare -- separator (as pnpm passes it) before or between flags', () => {
    expect(parseCommand(demo(), ['--', '--epochs', '7'])).toMatchObject({ epochs: 7 });
    expect(parseCommand(demo(), ['--epochs', '7', '--', '--resume'])).toMatchObject({ epochs: 7, resume: true });
  });

  it('answers an unknown flag with the nearest valid one, also in --flag=value form', () => {
    expect(usageError(() => parseCommand(demo(), ['--optimzer', 'sam']))).toBe('unknown flag "--optimzer"; did you mean --optimizer? (see --help)');
    expect(usageError(() => parseCommand(demo(), ['--epoch=3']))).toMatch(/unknown flag "--epoch"; did you mean --epochs\?/);
    // far from everything: still the nearest one
    expect(usageError(() => parseCommand(demo(), ['--zzzzzzzzzzzz']))).toMatch(/unknown flag "--zzzzzzzzzzzz"; did you mean --[a-z-]+\?/);
    expect(usageError(() => parseCommand(demo(), ['--resume=yes']))).toMatch(/--resume is a switch and takes no value/);
    expect(usageError(() => parseCommand(demo(), ['stray']))).toMatch(/unexpected argument "stray"/);
  });

  it('names the flag and the problem for bad values', () => {
    expect(usageError(() => parseCommand(demo(), ['--epochs', 'two']))).toBe('--epochs "two" is not a number');
    expect(usageError(() => parseCommand(demo(), ['--epochs', '1.5']))).toBe('--epochs 1.5 must be an integer');
    expect(usageError(() => parseCommand(demo(), ['--epochs', '0']))).toBe('--epochs 0 must be >= 1');
    expect(usageError(() => parseCommand(demo(), ['--lr']))).toBe('--lr needs a value');
    expect(usageError(() => parseCommand(demo(), ['--out', '--epochs', '2']))).toMatch(/--out needs a value \(got the flag --epochs\)/);
    expect(usageError(() => parseCommand(demo(), ['--optimizer', 'sgdd']))).toBe('--optimizer "sgdd" is not valid; expected one of sgd, sam, asam (did you mean sgd?)');
    expect(usageError(() => parseCommand(demo(), ['--backend', 'gpu']))).toMatch(/--backend "gpu" is not valid; expected one of auto, tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
  });

  it('a known mistake gets its own hint', () => {
    const cmd = createCommand({ name: 'x', description: 'x', env: {}, cwd: '/' });
    addSharedOptions(cmd, { optimizer: { default: 'sgd', choiceHints: { adam: 'the base optimizer is Adam here; use sgd' } } });
    expect(usageError(() => parseCommand(cmd, ['--optimizer', 'adam']))).toBe('--optimizer "adam" is not valid; expected one of sgd, sam, asam: the base optimizer is Adam here; use sgd');
  });

  it('negative numbers are values, not flags', () => {
    expect(parseCommand(demo(), ['--lr', '-1'])).toMatchObject({ lr: -1 });
  });

  it('resolves path flags against $INIT_CWD (pnpm) or else the working directory', () => {
    expect(parseCommand(demo({ INIT_CWD: '/home/u/here' }), ['--out', 'runs/x']).out).toBe('/home/u/here/runs/x');
    expect(parseCommand(demo({}, '/work/pkg'), ['--out=runs/x', '--data-dir', '../d']).out).toBe('/work/pkg/runs/x');
    expect(parseCommand(demo({}, '/work/pkg'), ['--data-dir', '../d']).dataDir).toBe('/work/d');
    expect(parseCommand(demo({ INIT_CWD: '/home/u' }), ['--out', '/abs/x']).out).toBe('/abs/x');
  });

  it('--help prints every option with its default and ends quietly with 0', () => {
    const cmd = demo();
    let text = '';
    cmd.configureOutput({ writeOut: (s) => { text += s; } });
    let code: number | undefined;
    try {
      parseCommand(cmd, ['--help']);
    } catch (e) {
      expect(e).toBeInstanceOf(CliExit);
      code = (e as CliExit).code;
    }
    expect(code).toBe(0);
    // one entry per option; a long description wraps onto more-indented lines
    const optionLines: string[] = [];
    for (const l of text.split('\n')) {
      if (/^ {2}(-[a-z], )?--[a-z]/.test(l)) optionLines.push(l);
      else if (/^ {6,}\S/.test(l) && optionLines.length > 0) optionLines[optionLines.length - 1] += ' ' + l.trim();
    }
    const help = optionLines.pop()!;
    expect(help).toMatch(/-h, --help/);
    expect(optionLines.length).toBe(10);
    for (const l of optionLines) expect(l).toMatch(/\(.*default: [^)]+\)/);
    const joined = optionLines.join('\n');
    expect(joined).toMatch(/--lr <x>\s+learning rate \(default: 0\.1 \(ImageNet 0\.2\)\)/);
    expect(joined).toMatch(/--optimizer <method>.*one of sgd \| sam \| asam; default: asam/);
    expect(joined).toMatch(/--backend <name>.*default: \$ASAM_BACKEND, else auto/);
    expect(joined).toMatch(/--native-kernels <on\|off>.*one of on \| off; default: \$ASAM_NATIVE_KERNELS, else on/);
    expect(joined).toMatch(/--resume .*default: off/);
  });

  it('lists the flags the user gave (not the defaults)', () => {
    const cmd = demo();
    parseCommand(cmd, ['--lr', '0.3', '--resume']);
    expect(givenFlags(cmd).sort()).toEqual(['--lr', '--resume']);
  });

  it('refuses a value option that states no default (a programming error)', () => {
    const cmd = createCommand({ name: 'x', description: 'x', env: {}, cwd: '/' });
    expect(() => addOption(cmd, { flags: '--n <n>', help: 'n' })).toThrow(/must state its default/);
  });
});

describe('backendFrom', () => {
  it('takes the flag, else $ASAM_BACKEND (checked), else auto', () => {
    expect(backendFrom('cpu', { ASAM_BACKEND: 'wasm' })).toBe('cpu');
    expect(backendFrom(undefined, { ASAM_BACKEND: 'wasm' })).toBe('wasm');
    expect(backendFrom(undefined, {})).toBe('auto');
    expect(usageError(() => backendFrom(undefined, { ASAM_BACKEND: 'wsam' }))).toMatch(/ASAM_BACKEND="wsam" is not a backend; .*did you mean wasm\?/);
  });
});

describe('nearest', () => {
  it('picks the smallest edit distance', () => {
    expect(nearest('--ouf', ['--out', '--lr', '--resume'])).toBe('--out');
    expect(nearest('x', [])).toBeUndefined();
  });
});

describe('nativeKernelsFrom', () => {
  it('the flag wins, then $ASAM_NATIVE_KERNELS, else on; anything but on/off is a one-line UsageError', () => {
    expect(nativeKernelsFrom('off', { ASAM_NATIVE_KERNELS: 'on' })).toBe(false);
    expect(nativeKernelsFrom(undefined, { ASAM_NATIVE_KERNELS: 'off' })).toBe(false);
    expect(nativeKernelsFrom(undefined, {})).toBe(true);
    expect(nativeKernelsFrom(undefined, { ASAM_NATIVE_KERNELS: '' })).toBe(true);
    expect(() => nativeKernelsFrom(undefined, { ASAM_NATIVE_KERNELS: '0' })).toThrow(UsageError);
    expect(() => nativeKernelsFrom(undefined, { ASAM_NATIVE_KERNELS: '0' })).toThrow(/ASAM_NATIVE_KERNELS="0" is not a switch; expected on or off/);
  });
});
