/**
 * The download command as a user meets it: spawned with tsx in the package folder, $INIT_CWD set to another folder
 * (relative paths land there), downloading from a mirror on 127.0.0.1 that this test serves.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTar } from '@asam/data';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(pkg, 'src', 'data-download.ts');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

// a CIFAR-format archive that is not the published one: its md5 differs from the registry's
const ARCHIVE = writeTar([{ name: 'cifar-10-batches-bin/test_batch.bin', data: Buffer.alloc(3 * 3073, 7) }], { gzip: true });
let server: http.Server;
let mirror = '';
let closedPort = 0;
const requests: string[] = [];
let user: string;

beforeAll(async () => {
  user = mkdtempSync(join(tmpdir(), 'asam-dl-cli-'));
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url !== '/asam-data/cifar-10-binary.tar.gz') { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-length': String(ARCHIVE.length) });
    res.end(ARCHIVE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/asam-data`;
  // a port nothing listens on: bind one, then close it
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(user, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process (the server answers meanwhile). */
function run(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const k of ['INIT_CWD', 'ASAM_DATA_DIR', 'ASAM_DATA_MIRROR']) delete base[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsxCli, cli, ...args], { cwd: pkg, env: { ...base, INIT_CWD: user, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('pnpm data:download', () => {
  it('--help lists the datasets with their sizes and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--dataset <names>/);
    expect(r.stdout).toMatch(/cifar10\s+162 MiB/);
    expect(r.stdout).toMatch(/--mirror <url>.*ASAM_DATA_MIRROR/s);
  });

  it('an unknown dataset or a bad mirror is one line, exit 2', async () => {
    const bad = await run(['--dataset', 'cifar11']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('error: --dataset "cifar11" is unknown; valid: cifar10, cifar100, iwslt14, multi30k\n');
    const m = await run(['--dataset', 'cifar10'], { ASAM_DATA_MIRROR: 'ftp://x' });
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(/^error: ASAM_DATA_MIRROR "ftp:\/\/x" is not an http\(s\) URL/);
  });

  it('a checksum mismatch from the mirror: one error line, exit 1, nothing left that looks complete, under the user\'s folder', async () => {
    requests.length = 0;
    const r = await run(['--', '--dataset=cifar10', '--data-dir', 'rel-data', '--mirror', mirror]);
    expect(r.status, r.stderr).toBe(1);
    expect(requests).toEqual(['/asam-data/cifar-10-binary.tar.gz']);
    expect(r.stdout).toContain(`cifar10 is not in ${join(user, 'rel-data')}: downloading 162 MiB from 127.0.0.1:`);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: cifar10 was not downloaded: .*cifar-10-binary\.tar\.gz: md5 mismatch \(expected c32a1d4ab5d03f1284b67883e8d87530, got [0-9a-f]{32}\); the file was not kept/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(join(user, 'rel-data'))).toEqual([]);
  });

  it('an unreachable host fails at once with one line naming it and the fixes', async () => {
    const r = await run(['--dataset', 'cifar10', '--data-dir', 'offline', '--mirror', `http://127.0.0.1:${closedPort}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: cifar10 was not downloaded: cannot reach 127\\.0\\.0\\.1:${closedPort} \\(ECONNREFUSED.*--mirror URL or ASAM_DATA_MIRROR=URL\\)\\n$`));
    expect(existsSync(join(user, 'offline', 'cifar-10-binary.tar.gz'))).toBe(false);
    expect(existsSync(join(user, 'offline', 'cifar-10-binary.tar.gz.part'))).toBe(false);
  });
});
