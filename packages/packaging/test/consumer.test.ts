/**
 * What a user installs. Packs every public package (`pnpm pack`, so `publishConfig` and `workspace:*` are applied as
 * `pnpm publish` applies them), checks each tarball's contents and runs publint and arethetypeswrong on it, then
 * installs the tarballs with npm into a project in the system temp folder, outside the workspace, and there:
 * (1) plain `node` runs ASAM through compile() + fit() (loss falls, tf.memory().numTensors flat across epochs) and
 *     every package README's example;
 * (2) `tsc --noEmit` type-checks every entry point and the README examples under `nodenext` and under `bundler`;
 * (3) esbuild bundles @asam/core's browser example from the installed packages.
 * @asam/core's README runs once more exactly as written: its `npm install` line alone, then its example. And the
 * install is repeated with the lowest TensorFlow.js the peer ranges claim, where the fit and README examples run too.
 * The packages must be built first: turbo runs `^build` before this package's test.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPackage, publicPackages, REPO_ROOT, run, type PublicPackage } from '../src/packages.ts';

/** The TensorFlow.js versions the peer ranges claim and this test installs: the lowest and the newest 4.x. */
const TFJS_NEWEST = '4.22.0';
const TFJS_LOWEST = readPeerLowest();
const TFJS_PEERS = ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'];
const TYPES_NODE = '20.19.43';
const EXPECTED_PUBLIC = ['@asam/cli', '@asam/core', '@asam/data', '@asam/engine', '@asam/nmt', '@asam/train', '@asam/vision'];

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

function readPeerLowest(): string {
  const pj = JSON.parse(readFileSync(new URL('../../asam-core/package.json', import.meta.url), 'utf8'));
  const m = /^>=(\d+\.\d+\.\d+) <5\.0\.0$/.exec(pj.peerDependencies['@tensorflow/tfjs-core']);
  if (!m) throw new Error(`@asam/core's tfjs-core peer range ${pj.peerDependencies['@tensorflow/tfjs-core']} is not '>=4.x.y <5.0.0'`);
  return m[1]!;
}

/** The code blocks of a markdown file: language and text, in order. */
function codeBlocks(markdown: string): { lang: string; code: string }[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

/** A README's install command and its runnable example: the first two code blocks. */
function readmeExample(p: PublicPackage): { install: string; example: string } {
  const blocks = codeBlocks(readFileSync(join(p.dir, 'README.md'), 'utf8'));
  const [install, example] = blocks;
  if (install?.lang !== 'sh' || !install.code.startsWith(`npm install ${p.name}`) || example?.lang !== 'js') {
    throw new Error(`${p.name}/README.md must start with a \`\`\`sh block 'npm install ${p.name} …' and then a runnable \`\`\`js example`);
  }
  return { install: install.code.trim(), example: example.code };
}

/** Runs a program to its end, whatever its exit code: stdout (and stderr) and the code. */
function runAll(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout: `${stdout}${stderr}` });
    });
  });
}

const packages = publicPackages();
let work: string;
const tarballs = new Map<string, string>();

/** Installs the tarballs (and TensorFlow.js at `tfjs`) with npm into a fresh project under `work`. */
async function consumerProject(name: string, tfjs: string): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const deps: Record<string, string> = { '@types/node': TYPES_NODE };
  for (const [pkg, file] of tarballs) deps[pkg] = `file:${file}`;
  for (const pkg of TFJS_PEERS) deps[pkg] = tfjs;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `asam-consumer-${name}`, private: true, type: 'module', dependencies: deps }, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, timeoutMs: 600_000 });
  return dir;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'asam-consumer-'));
  for (const p of packages) tarballs.set(p.name, await packPackage(p, join(work, 'tarballs')));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('are the seven libraries a user imports, each with a README that starts with npm install and an example', () => {
    expect(new Set(packages.map((p) => p.name))).toEqual(new Set(EXPECTED_PUBLIC));
    for (const p of packages) expect(readmeExample(p).install).toMatch(/^npm install @asam\//);
  });

  it('hold built JS with types, the LICENSE and the README, and no sources, tests or tsconfig', async () => {
    const license = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');
    for (const p of packages) {
      const file = tarballs.get(p.name)!;
      const list = (await run('tar', ['-tzf', file], { cwd: work })).trim().split('\n').map((l) => l.replace(/^package\//, ''));
      const where = `${p.name} (${file})`;
      expect(list, where).toContain('LICENSE');
      expect(list, where).toContain('README.md');
      expect(list, where).toContain('package.json');
      expect(await run('tar', ['-xzOf', file, 'package/LICENSE'], { cwd: work }), where).toBe(license);
      const bad = list.filter((f) => /(^|\/)(test|tests|__tests__)\//.test(f) || /\.(test|bench)\.[cm]?[jt]s$/.test(f)
        || /(^|\/)tsconfig[^/]*\.json$/.test(f) || /\.tsbuildinfo$/.test(f) || /^src\//.test(f) || /(^|\/)vitest\.config/.test(f)
        || (/\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f)));
      expect(bad, where).toEqual([]);
      const js = list.filter((f) => /^dist\/.*\.[cm]?js$/.test(f));
      expect(js.length, where).toBeGreaterThan(0);
      for (const f of js) {
        expect(list, `${where}: types of ${f}`).toContain(f.replace(/\.js$/, '.d.ts').replace(/\.mjs$/, '.d.mts'));
        expect(list, `${where}: source map of ${f}`).toContain(`${f}.map`);
      }
      const pj = JSON.parse(await run('tar', ['-xzOf', file, 'package/package.json'], { cwd: work }));
      expect(pj.private, where).toBeUndefined();
      expect(pj.license, where).toBe('Apache-2.0');
      expect(pj.version, where).toMatch(/^\d+\.\d+\.\d+/);
      expect(pj.repository?.directory, where).toBe(`packages/${p.folder}`);
      expect(pj.engines?.node, where).toBeDefined();
      expect(pj.sideEffects, where).toBe(false);
      expect(JSON.stringify(pj), where).not.toMatch(/workspace:|\.\/src\//);
      for (const [sub, target] of Object.entries(pj.exports as Record<string, unknown>)) {
        if (sub === './package.json') continue;
        const t = target as Record<string, unknown>;
        expect(Object.keys(t).filter((k) => k !== 'browser'), `${where} exports['${sub}']`).toEqual(['types', 'import', 'default']);
        for (const f of [t.types, t.import, t.default]) expect(list, `${where} exports['${sub}']`).toContain(String(f).replace(/^\.\//, ''));
      }
      const tfjsDeps = Object.keys({ ...pj.dependencies, ...pj.optionalDependencies }).filter((d) => d.startsWith('@tensorflow/'));
      expect(tfjsDeps, `${where}: TensorFlow.js packages must be peers`).toEqual([]);
      for (const [dep, range] of Object.entries(pj.peerDependencies ?? {})) {
        if (dep.startsWith('@tensorflow/')) expect(range, `${where}: peer ${dep}`).toBe(`>=${TFJS_LOWEST} <5.0.0`);
      }
    }
  });

  it('pass publint (strict) and arethetypeswrong (ES modules only)', async () => {
    const bin = (name: string): string => join(here, '..', 'node_modules', '.bin', name);
    for (const p of packages) {
      const file = tarballs.get(p.name)!;
      const lint = await run(bin('publint'), ['run', '--strict', file], { cwd: work });
      expect(lint, p.name).toContain('All good!');
      // ES modules only (see the repository README): CommonJS `require` and node10 resolution are out of scope.
      const report = JSON.parse((await runAll(bin('attw'), ['--format', 'json', file], work)).stdout) as {
        problems?: Record<string, { kind: string; entrypoint: string; resolutionKind?: string }[]>;
      };
      const problems = Object.values(report.problems ?? {}).flat();
      expect(problems.filter((x) => x.resolutionKind !== 'node10' && x.resolutionKind !== 'node16-cjs'), p.name).toEqual([]);
    }
  });
});

describe(`a project that installs the tarballs with npm (TensorFlow.js ${TFJS_NEWEST})`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await consumerProject('newest', TFJS_NEWEST);
    cpSync(join(here, '..', 'consumer'), dir, { recursive: true });
  }, 600_000);

  it('resolves every package from the installed tarball, not from the workspace', () => {
    for (const p of packages) {
      const installed = join(dir, 'node_modules', ...p.name.split('/'));
      expect(existsSync(join(installed, 'dist', 'index.js')), p.name).toBe(true);
      expect(existsSync(join(installed, 'src')), p.name).toBe(false);
      expect(statSync(installed).isSymbolicLink(), p.name).toBe(false);
    }
  });

  it('trains with ASAM through compile() + fit() in plain node: the loss falls, the tensor count stays flat', async () => {
    const out = JSON.parse((await run(process.execPath, ['fit.mjs', 'cpu'], { cwd: dir })).trim().split('\n').at(-1)!) as {
      backend: string; loss: number[]; tensors: number[]; resolved: { core: string; engine: string };
    };
    expect(out.backend).toBe('cpu');
    expect(out.resolved.core).toBe(`file://${join(dir, 'node_modules/@asam/core/dist/index.js')}`);
    expect(out.resolved.engine).toBe(`file://${join(dir, 'node_modules/@asam/engine/dist/index.js')}`);
    expect(out.loss).toHaveLength(8);
    expect(out.loss.at(-1)!).toBeLessThan(0.5 * out.loss[0]!);
    expect(new Set(out.tensors.slice(1)).size, `numTensors per epoch: ${out.tensors.join(', ')}`).toBe(1);
  });

  it('runs every README example in plain node', async () => {
    for (const p of packages) {
      const file = join(dir, `readme-${p.folder}.mjs`);
      writeFileSync(file, readmeExample(p).example);
      await run(process.execPath, [file], { cwd: dir, timeoutMs: 300_000 });
    }
  });

  it('type-checks every entry point and the README examples with moduleResolution nodenext and bundler', async () => {
    mkdirSync(join(dir, 'check'), { recursive: true });
    const lines: string[] = [];
    for (const p of packages) {
      const pj = JSON.parse(readFileSync(join(dir, 'node_modules', ...p.name.split('/'), 'package.json'), 'utf8'));
      for (const sub of Object.keys(pj.exports as object).filter((s) => s !== './package.json')) {
        const i = lines.length;
        lines.push(`import * as m${i} from '${p.name}${sub.slice(1)}';\nconsole.log(Object.keys(m${i}).length);`);
      }
      writeFileSync(join(dir, 'check', `readme-${p.folder}.ts`), `export {};\n${readmeExample(p).example}`);
    }
    writeFileSync(join(dir, 'check', 'entries.ts'), `${lines.join('\n')}\nexport {};\n`);
    const tsc = require.resolve('typescript/bin/tsc');
    for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
      // skipLibCheck is off so that our .d.ts files are checked; TensorFlow.js's own declarations have errors under
      // strict settings (tfjs-layers' configs, tfjs-core's Long), which are theirs: every other error fails the test.
      const r = await runAll(process.execPath, [tsc, '-p', config], dir);
      const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
      const ours = errors.filter((l) => !l.startsWith('node_modules/@tensorflow/'));
      expect(ours, `${config}:\n${r.stdout}`).toEqual([]);
      expect(r.code === 0 || errors.length > 0, `${config}: tsc exited ${r.code} without errors:\n${r.stdout}`).toBe(true);
    }
  });

  it("bundles @asam/core's browser example from the installed packages", async () => {
    const example = join(REPO_ROOT, 'packages/asam-core/examples');
    mkdirSync(join(dir, 'web/browser'), { recursive: true });
    cpSync(join(example, 'cifar-small-cnn.ts'), join(dir, 'web/cifar-small-cnn.ts'));
    cpSync(join(example, 'browser/main.ts'), join(dir, 'web/browser/main.ts'));
    const { build } = await import('esbuild');
    const r = await build({
      entryPoints: [join(dir, 'web/browser/main.ts')], outfile: join(dir, 'web/out/main.js'), absWorkingDir: dir,
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022', metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs).toContain('node_modules/@asam/core/dist/index.js');
    expect(inputs).toContain('node_modules/@asam/engine/dist/browser.js');
    expect(inputs.filter((f) => f.startsWith('node_modules/@asam/') && !f.includes('/dist/'))).toEqual([]);
    expect(inputs.filter((f) => f.includes('engine/dist/engine.js') || f.startsWith('..'))).toEqual([]);
  });
});

describe("a project that runs @asam/core's README as written: its npm install line, then its example", () => {
  it('installs the core tarball and @tensorflow/tfjs alone, trains in plain node and type-checks under nodenext', async () => {
    const core = packages.find((p) => p.name === '@asam/core')!;
    const { install, example } = readmeExample(core);
    const dir = join(work, 'core-alone');
    mkdirSync(join(dir, 'check'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'asam-core-alone', private: true, type: 'module' }));
    const args = install.split(/\s+/).slice(2).map((a) => tarballs.get(a) ?? a);
    expect(args).toEqual([tarballs.get('@asam/core'), '@tensorflow/tfjs']);
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...args, `@types/node@${TYPES_NODE}`],
      { cwd: dir, timeoutMs: 600_000 });
    writeFileSync(join(dir, 'readme.mjs'), example);
    const out = await run(process.execPath, ['readme.mjs'], { cwd: dir });
    const losses = /loss per epoch \[([^\]]*)\]/.exec(out.replace(/\s+/g, ' '))?.[1]?.split(',').map(Number);
    expect(losses, out).toHaveLength(10);
    expect(losses!.at(-1)!, out).toBeLessThan(losses![0]!);
    writeFileSync(join(dir, 'check', 'readme.ts'), `export {};\n${example}`);
    cpSync(join(here, '..', 'consumer', 'tsconfig.nodenext.json'), join(dir, 'tsconfig.json'));
    const r = await runAll(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], dir);
    expect(r.stdout.split('\n').filter((l) => /error TS\d+/.test(l) && !l.startsWith('node_modules/@tensorflow/')), r.stdout).toEqual([]);
  }, 600_000);
});

describe(`a project with the lowest TensorFlow.js the peer ranges claim (${TFJS_LOWEST})`, () => {
  it('installs without a second tfjs-core, trains with ASAM in plain node and runs every README example', async () => {
    const dir = await consumerProject('lowest', TFJS_LOWEST);
    cpSync(join(here, '..', 'consumer', 'fit.mjs'), join(dir, 'fit.mjs'));
    for (const p of packages) {
      writeFileSync(join(dir, `readme-${p.folder}.mjs`), readmeExample(p).example);
      await run(process.execPath, [`readme-${p.folder}.mjs`], { cwd: dir, timeoutMs: 300_000 });
    }
    const cores = (await run('npm', ['ls', '--all', '--parseable', '@tensorflow/tfjs-core'], { cwd: dir })).trim().split('\n');
    expect(cores.map((c) => JSON.parse(readFileSync(join(c, 'package.json'), 'utf8')).version)).toEqual([TFJS_LOWEST]);
    const out = JSON.parse((await run(process.execPath, ['fit.mjs', 'cpu'], { cwd: dir })).trim().split('\n').at(-1)!) as { loss: number[]; tensors: number[] };
    expect(out.loss.at(-1)!).toBeLessThan(0.5 * out.loss[0]!);
    expect(new Set(out.tensors.slice(1)).size).toBe(1);
  }, 600_000);
});
