/**
 * Builds the browser example into `outDir`: `main.js` (esbuild bundle of main.ts with TensorFlow.js,
 * @asam/engine's browser entry and @asam/core), `index.html`, and the tfjs wasm binaries under `wasm/`.
 *
 *   tsx examples/browser/build.ts [outDir] [--serve]     (default outDir: examples/browser/dist)
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Where @tensorflow/tfjs-backend-wasm keeps its binaries (resolved from @asam/engine, which depends on it). */
function wasmDir(): string {
  const engineEntry = createRequire(import.meta.url).resolve('@asam/engine/browser');
  return dirname(createRequire(engineEntry).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

export async function buildBrowserExample(outDir: string): Promise<void> {
  await mkdir(join(outDir, 'wasm'), { recursive: true });
  await build({
    entryPoints: [join(here, 'main.ts')],
    outfile: join(outDir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    logLevel: 'error',
  });
  await copyFile(join(here, 'index.html'), join(outDir, 'index.html'));
  const wasm = join(wasmDir(), 'dist');
  for (const f of WASM_FILES) await copyFile(join(wasm, f), join(outDir, 'wasm', f));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outDir = args.find((a) => !a.startsWith('--')) ?? join(here, 'dist');
  await buildBrowserExample(outDir);
  console.log(`built ${outDir}`);
  if (args.includes('--serve')) {
    const { serveStatic } = await import('./serve');
    const server = await serveStatic(outDir, 8080);
    console.log(`open ${server.url}index.html (Ctrl-C to stop)`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
