#!/usr/bin/env node
// Builds the native kernel tier of @asam/engine: native/onednn_kernels.cc → build/onednn_kernels.node, one g++ line
// against Debian's oneDNN (libdnnl-dev) and the Node-API headers of the npm package node-api-headers (no node-gyp).
// Run by scripts/setup.sh, never by an install hook. Where g++ or oneDNN is missing it says so and exits 0: the
// engine then keeps its WebAssembly-SIMD kernels and records why (EngineInfo.native.reason).
// Usage: node scripts/build-native.mjs [--strict]   (--strict: exit 1 when the addon cannot be built)
//        npx asam-build-native [--strict]          (the same, from a project that installed @asam/engine)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'onednn_kernels.cc');
const out = join(root, 'build', 'onednn_kernels.node');
const strict = process.argv.includes('--strict');

function skip(why) {
  console.log(`[engine] native kernels not built: ${why}; the WebAssembly-SIMD kernels stay in use`);
  process.exit(strict ? 1 : 0);
}

let headers;
try {
  headers = dirname(createRequire(join(root, 'package.json')).resolve('node-api-headers/include/node_api.h'));
} catch {
  skip('the npm package node-api-headers (a dependency of @asam/engine) is not installed');
}
if (spawnSync('g++', ['--version'], { stdio: 'ignore' }).status !== 0) skip('g++ is not installed (apt-get install g++)');
if (!existsSync('/usr/include/oneapi/dnnl/dnnl.hpp')) skip("oneDNN headers are missing (apt-get install libdnnl-dev)");

mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
const args = ['-O2', '-std=c++17', '-shared', '-fPIC', '-fopenmp', '-Wall', '-I', headers, source, '-o', tmp, '-ldnnl'];
const t0 = Date.now();
const r = spawnSync('g++', args, { encoding: 'utf8' });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  process.stderr.write(r.stderr);
  skip(`g++ failed (exit ${r.status}): g++ ${args.join(' ')}`);
}
renameSync(tmp, out);
console.log(`[engine] native kernels built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${out}`);
