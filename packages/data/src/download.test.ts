import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCifar10 } from './cifar.ts';
import { DATASETS, download, downloadFile, NetworkUnreachableError, sourceUrl, type DatasetSource, type DownloadProgress } from './download.ts';
import { downloadBar, progressLine } from './download-progress.ts';
import { fetchMissing } from './fetch-missing.ts';
import { ChecksumError, DataNotFoundError } from './errors.ts';
import { resolveDataDir } from './paths.ts';
import { writeTar } from './tar.ts';
import { DATA_DIR, NO_DATA, SKIP_REASON, realPath } from '../test/real-data.ts';

// a CIFAR-10-layout tarball with 40 records (≈123 KB), built here
const records = Buffer.alloc(40 * 3073);
let lcg = 12345;
for (let i = 0; i < records.length; i++) { lcg = (Math.imul(lcg, 1103515245) + 12345) >>> 0; records[i] = lcg >>> 24; } // incompressible
for (let r = 0; r < 40; r++) { records[r * 3073] = r % 10; records[r * 3073 + 1] = r; }
const TARBALL = writeTar([{ name: 'cifar-10-batches-bin/test_batch.bin', data: records }], { gzip: true });
const SHA = createHash('sha256').update(TARBALL).digest('hex');
const MD5 = createHash('md5').update(TARBALL).digest('hex');

type Mode = 'ok' | 'corrupt' | 'interrupt-once' | 'interrupt-always' | 'no-range';
let mode: Mode = 'ok';
const log: { range: string | undefined }[] = [];
let interrupted = 0;
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const range = req.headers.range;
    log.push({ range });
    if (req.url === '/missing') { res.writeHead(404); res.end(); return; }
    const body = mode === 'corrupt' ? Buffer.concat([TARBALL.subarray(0, 1000), Buffer.from([TARBALL[1000]! ^ 0xff]), TARBALL.subarray(1001)]) : TARBALL;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && mode !== 'no-range') start = Number(m[1]);
    const chunk = body.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'content-length': String(chunk.length),
      ...(start > 0 ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (mode === 'interrupt-always' || (mode === 'interrupt-once' && interrupted === 0)) {
      interrupted++;
      // send part of the body, then drop the connection mid-body
      res.write(chunk.subarray(0, Math.min(50000, Math.floor(chunk.length / 2))), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(chunk);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const fresh = () => mkdtempSync(join(tmpdir(), 'asam-dl-'));
const reset = (m: Mode) => { mode = m; log.length = 0; interrupted = 0; };

describe('downloadFile', () => {
  it('downloads, verifies sha256 and renames atomically; progress is reported', async () => {
    reset('ok');
    const dest = join(fresh(), 'sub', 'x.tar.gz');
    const seen: DownloadProgress[] = [];
    await downloadFile(`${base}/x.tar.gz`, dest, { sha256: SHA, onProgress: (p) => seen.push(p) });
    expect(readFileSync(dest).equals(TARBALL)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(seen.some((p) => p.phase === 'downloading' && p.total === TARBALL.length)).toBe(true);
    expect(seen.at(-1)?.phase).toBe('done');
    // present + valid → skipped without a request
    log.length = 0;
    await downloadFile(`${base}/x.tar.gz`, dest, { sha256: SHA });
    expect(log).toHaveLength(0);
  });

  it('a connection closed mid-body is resumed with a Range request', async () => {
    reset('interrupt-once');
    const dest = join(fresh(), 'x.tar.gz');
    await downloadFile(`${base}/x.tar.gz`, dest, { md5: MD5, retryDelayMs: 10 });
    expect(log.map((l) => l.range)).toEqual([undefined, 'bytes=50000-']);
    expect(readFileSync(dest).equals(TARBALL)).toBe(true);
  });

  it('gives up after the retries, keeps only the .part file, and a later call resumes it', async () => {
    reset('interrupt-always');
    const dest = join(fresh(), 'x.tar.gz');
    await expect(downloadFile(`${base}/x.tar.gz`, dest, { sha256: SHA, retries: 1, retryDelayMs: 10 })).rejects.toThrow(/gave up after 2 attempts.*\.part/);
    expect(existsSync(dest)).toBe(false);
    const partSize = readFileSync(`${dest}.part`).length;
    const first = Math.min(50000, Math.floor(TARBALL.length / 2));
    expect(partSize).toBe(first + Math.min(50000, Math.floor((TARBALL.length - first) / 2))); // both partial bodies kept
    expect(log.map((l) => l.range)).toEqual([undefined, `bytes=${first}-`]);
    reset('ok');
    await downloadFile(`${base}/x.tar.gz`, dest, { sha256: SHA });
    expect(log.map((l) => l.range)).toEqual([`bytes=${partSize}-`]);
    expect(readFileSync(dest).equals(TARBALL)).toBe(true);
  });

  it('a server that ignores Range restarts from zero (200) and still yields the right file', async () => {
    reset('no-range');
    const dir = fresh();
    const dest = join(dir, 'x.tar.gz');
    writeFileSync(`${dest}.part`, TARBALL.subarray(0, 777));
    await downloadFile(`${base}/x.tar.gz`, dest, { sha256: SHA });
    expect(readFileSync(dest).equals(TARBALL)).toBe(true);
  });

  it('a corrupted download fails the checksum, and neither the file nor the .part is kept', async () => {
    reset('corrupt');
    const dest = join(fresh(), 'x.tar.gz');
    const err = await downloadFile(`${base}/x.tar.gz`, dest, { sha256: SHA }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as Error).message).toMatch(/sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)/);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
    const md5err = await downloadFile(`${base}/x.tar.gz`, dest, { md5: MD5 }).catch((e: unknown) => e);
    expect((md5err as Error).message).toMatch(/md5 mismatch/);
  });

  it('HTTP 404 fails at once with the URL', async () => {
    reset('ok');
    await expect(downloadFile(`${base}/missing`, join(fresh(), 'm'), { retries: 3 })).rejects.toThrow(/GET .*\/missing: HTTP 404/);
    expect(log).toHaveLength(1);
  });
});

describe('download (registry) + loader end to end', () => {
  it('fetches a dataset by name into the layout the loader reads', async () => {
    reset('ok');
    const dir = fresh();
    await expect(loadCifar10(dir, 'test')).rejects.toThrow(DataNotFoundError);
    const registry: Record<string, DatasetSource> = {
      cifar10: { description: 'test', checksumNote: 'test', files: [{ url: `${base}/cifar-10-binary.tar.gz`, path: 'cifar-10-binary.tar.gz', md5: MD5 }] },
    };
    const paths = await download('cifar10', dir, { registry });
    expect(paths).toEqual([join(dir, 'cifar-10-binary.tar.gz')]);
    const ds = await loadCifar10(dir, 'test');
    expect(ds.n).toBe(40);
    expect(ds.labels[13]).toBe(3);
    expect(ds.images[13 * 3072]).toBe(13);
    await expect(download('imagenet', dir, { registry })).rejects.toThrow(/unknown dataset "imagenet"; known: cifar10/);
  });
});

describe('resolveDataDir', () => {
  it('explicit dir > ASAM_DATA_DIR > XDG cache > ~/.cache', () => {
    expect(resolveDataDir({ dir: '/a', env: { ASAM_DATA_DIR: '/b' } })).toBe('/a');
    expect(resolveDataDir({ env: { ASAM_DATA_DIR: '/b', XDG_CACHE_HOME: '/c' } })).toBe('/b');
    expect(resolveDataDir({ env: { XDG_CACHE_HOME: '/c' } })).toBe('/c/asam/data');
    expect(resolveDataDir({ env: {} })).toMatch(/\.cache\/asam\/data$/);
  });
});

describe.skipIf(NO_DATA)(`registry checksums vs the real files (${NO_DATA ? SKIP_REASON : DATA_DIR})`, () => {
  it('every Multi30k sha256 in DATASETS matches the file in the data dir', () => {
    const files = DATASETS['multi30k']!.files;
    expect(files).toHaveLength(24);
    for (const f of files) {
      const got = createHash('sha256').update(readFileSync(realPath(f.path))).digest('hex');
      expect(got, f.path).toBe(f.sha256);
      expect(f.url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/multi30k\/dataset\/[0-9a-f]{40}\/data\/task1\//);
    }
  });
});

describe('downloadFile without a reachable host', () => {
  it('fails at once with one line naming the host and the fixes, and leaves no file that looks complete', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asam-dl-unreachable-'));
    const dest = join(dir, 'x.bin');
    const progress: string[] = [];
    // `.invalid` never resolves (RFC 2606), offline or online.
    const err = await downloadFile('http://asam-download-test.invalid/x.bin', dest, { retries: 5, retryDelayMs: 60_000, onProgress: (p) => progress.push(p.phase) })
      .then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(NetworkUnreachableError);
    expect(err!.message).not.toContain('\n');
    expect(err!.message).toMatch(/cannot reach asam-download-test\.invalid \((ENOTFOUND|EAI_AGAIN)/);
    expect(err!.message).toContain('ASAM_DATA_DIR / --data-dir');
    expect(progress).not.toContain('retrying');
    expect(existsSync(dest)).toBe(false);
  });
});

describe('data on demand: fetchMissing from a mirror on 127.0.0.1, then the loader', () => {
  // the publisher's URL is never asked for: the mirror holds the data folder's layout
  const registry = (md5: string): Record<string, DatasetSource> => ({
    cifar10: {
      description: 'test', checksumNote: 'test', bytes: TARBALL.length,
      files: [{ url: 'http://publisher.invalid/cifar-10-binary.tar.gz', path: 'cifar-10-binary.tar.gz', md5 }],
      presentWhen: [['cifar-10-batches-bin/test_batch.bin'], ['cifar-10-binary.tar.gz']],
    },
  });
  const sink = () => { const lines: string[] = []; return { lines, write: (s: string) => { lines.push(s); } }; };

  it('fresh: downloads what is missing, one progress line per dataset, and leaves present data alone', async () => {
    reset('ok');
    const dir = fresh();
    const out = sink();
    const r = await fetchMissing(['cifar10'], dir, { allowDownload: true, sink: out, mirror: `${base}/m/`, registry: registry(MD5) });
    expect(r).toEqual([{ name: 'cifar10', status: 'downloaded', error: null }]);
    expect(log.map((l) => l.range)).toEqual([undefined]);
    expect(out.lines.join('')).toMatch(/^cifar10 is not in .*: downloading 120 KiB from 127\.0\.0\.1:\d+\ncifar10 120 KiB in 0:00 \(.*\/s\), checksums verified\n$/);
    expect((await loadCifar10(dir, 'test')).n).toBe(40);
    log.length = 0;
    expect(await fetchMissing(['cifar10'], dir, { allowDownload: true, sink: out, mirror: base, registry: registry(MD5) }))
      .toEqual([{ name: 'cifar10', status: 'present', error: null }]);
    expect(log).toHaveLength(0);
  });

  it('interrupted and resumed: a dropped connection is continued with a Range request from the .part file', async () => {
    reset('interrupt-always');
    const dir = fresh();
    const first = await fetchMissing(['cifar10'], dir, { allowDownload: true, sink: sink(), mirror: base, registry: registry(MD5), retries: 0 });
    expect(first[0]!.status).toBe('failed');
    expect(first[0]!.error).toMatch(/gave up after 1 attempts \(partial data kept in .*cifar-10-binary\.tar\.gz\.part; run again to resume\)/);
    const part = readFileSync(join(dir, 'cifar-10-binary.tar.gz.part')).length;
    expect(part).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'cifar-10-binary.tar.gz'))).toBe(false);
    reset('ok');
    const second = await fetchMissing(['cifar10'], dir, { allowDownload: true, sink: sink(), mirror: base, registry: registry(MD5) });
    expect(second[0]!.status).toBe('downloaded');
    expect(log.map((l) => l.range)).toEqual([`bytes=${part}-`]);
    expect(readFileSync(join(dir, 'cifar-10-binary.tar.gz')).equals(TARBALL)).toBe(true);
    expect((await loadCifar10(dir, 'test')).labels[13]).toBe(3);
  });

  it('checksum mismatch: reported, and neither the file nor a .part is left', async () => {
    reset('ok');
    const dir = fresh();
    const r = await fetchMissing(['cifar10'], dir, { allowDownload: true, sink: sink(), mirror: base, registry: registry('0'.repeat(32)) });
    expect(r[0]!.status).toBe('failed');
    expect(r[0]!.error).toMatch(/cifar-10-binary\.tar\.gz: md5 mismatch \(expected 0{32}, got [0-9a-f]{32}\); the file was not kept/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('unreachable: a refused connection and a host that never answers both fail at once, without retries', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const dir = fresh();
    const refused = await fetchMissing(['cifar10'], dir, { allowDownload: true, sink: sink(), mirror: `http://127.0.0.1:${closed}`, registry: registry(MD5), retryDelayMs: 60_000 });
    expect(refused[0]!.error).toMatch(/^cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED/);
    // accepts the connection, never answers: the attempt ends after timeoutMs and the host counts as unreachable
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const progress: string[] = [];
      const r = await fetchMissing(['cifar10'], dir, { allowDownload: true, sink: sink(), mirror: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        registry: registry(MD5), timeoutMs: 300, retryDelayMs: 60_000, onProgress: (p) => progress.push(p.phase) });
      expect(r[0]!.error).toMatch(/^cannot reach 127\.0\.0\.1:\d+ \(ETIMEDOUT/);
      expect(progress).not.toContain('retrying');
    } finally {
      silent.close();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('--no-download: a missing dataset is reported as forbidden and nothing is fetched', async () => {
    reset('ok');
    const r = await fetchMissing(['cifar10'], fresh(), { allowDownload: false, sink: sink(), mirror: base, registry: registry(MD5) });
    expect(r[0]).toMatchObject({ status: 'forbidden', error: expect.stringMatching(/--no-download/) });
    expect(log).toHaveLength(0);
  });

  it('sourceUrl: <mirror>/<path>, with or without a trailing slash; a non-http mirror is refused', () => {
    const f = { url: 'https://host/x', path: 'multi30k/raw/train.de.gz' };
    expect(sourceUrl(f, null)).toBe('https://host/x');
    expect(sourceUrl(f, 'http://m:8000/base')).toBe('http://m:8000/base/multi30k/raw/train.de.gz');
    expect(sourceUrl(f, 'http://m:8000/base/')).toBe('http://m:8000/base/multi30k/raw/train.de.gz');
    expect(() => sourceUrl(f, 'file:///tmp')).toThrow(/not an http\(s\) URL/);
  });
});

describe('the progress bar', () => {
  it('redraws one line in place on a terminal, with size, rate and time left; writes only the final line elsewhere', () => {
    let t = 0;
    const tty: string[] = [];
    const bar = downloadBar({ isTTY: true, write: (s) => tty.push(s) }, { now: () => t, redrawMs: 100 });
    bar.start('cifar10', 100 * 2 ** 20);
    const p = (received: number): DownloadProgress => ({ file: 'f', url: 'u', received, total: 100 * 2 ** 20, resumedFrom: 0, phase: 'downloading' });
    t = 10_000; bar.update(p(25 * 2 ** 20));
    t = 10_050; bar.update(p(26 * 2 ** 20)); // within redrawMs: not drawn
    t = 20_000; bar.update(p(50 * 2 ** 20));
    bar.done();
    expect(tty).toHaveLength(4);
    expect(tty[1]).toBe(`\r${progressLine('cifar10', 25 * 2 ** 20, 100 * 2 ** 20, 10)}\u001b[K`);
    expect(tty[1]).toMatch(/^\rcifar10 \[######-{18}\] 25\.0 MiB \/ 100 MiB {2}2\.5 MiB\/s {2}0:30 left/);
    expect(tty[3]).toMatch(/^\rcifar10 50\.0 MiB in 0:20 \(2\.5 MiB\/s\), checksums verified\u001b\[K\n$/);
    const log: string[] = [];
    const plain = downloadBar({ write: (s) => log.push(s) }, { now: () => t });
    plain.start('multi30k', null);
    plain.update(p(1000));
    plain.fail();
    expect(log).toEqual(['multi30k download failed after 1000 B\n']);
  });
});
