/**
 * Downloads of the official dataset files, for machines with internet access.
 *
 * Every file is fetched to `<dest>.part`, resumed with an HTTP `Range: bytes=<have>-` request after an
 * interruption, verified (sha256, or md5 where that is what the publisher gives), and only then renamed to
 * `<dest>` — so a partial or corrupt download never looks complete. Files already present are re-verified
 * and skipped.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { ChecksumError } from './errors.ts';

/** One file of a dataset. `path` is relative to the data directory. */
export interface RemoteFile {
  url: string;
  path: string;
  sha256?: string;
  /** used when the publisher gives only an md5 (CIFAR) */
  md5?: string;
}

/** A downloadable dataset. */
export interface DatasetSource {
  description: string;
  files: RemoteFile[];
  /** where the checksums come from */
  checksumNote: string;
  /** Bytes fetched in all (null when the publisher does not say), for messages and the progress bar. */
  bytes?: number | null;
  /**
   * When the dataset counts as present: alternatives, each a list of paths relative to the data folder that must all
   * exist (a trailing `/` means a folder). Default: every file of `files`.
   */
  presentWhen?: string[][];
}

const MULTI30K_COMMIT = 'a3d2e0d26b56f3846f66a952536ffed4e401d05a';
const M30K = `https://raw.githubusercontent.com/multi30k/dataset/${MULTI30K_COMMIT}/data/task1`;
/** sha256 of the Multi30k task-1 de/en files at the pinned commit. */
const MULTI30K_SHA256: Record<string, string> = {
  'raw/train.de.gz': '726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6',
  'raw/train.en.gz': 'd79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f',
  'raw/val.de.gz': 'f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a',
  'raw/val.en.gz': '14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28',
  'raw/test_2016_flickr.de.gz': '9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8',
  'raw/test_2016_flickr.en.gz': '611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9',
  'raw/test_2017_flickr.de.gz': 'a2c89666db00c495cd8513b9d708d5a3acc205d7de312ef2bf5fb7ebc1540aee',
  'raw/test_2017_flickr.en.gz': '76a444ee25172e72695cddb13ae4a3bda59430617be88e0bb46b60504f054074',
  'raw/test_2017_mscoco.de.gz': '799e4854c25d601cb6cb6be29eabe5667734c61ace2f495e03e429031a0bc338',
  'raw/test_2017_mscoco.en.gz': 'aab300bfb4427697987e02cd0aacd44bfe8aa50456231b6474c08038bbed2b58',
  'raw/test_2018_flickr.de.gz': 'ddd0130c7d97482dc5197a02141dae8dd79f20f03586c480d675c09a32daf608',
  'raw/test_2018_flickr.en.gz': 'ef4f4844037d4c5dea75c9a8ed5fd78905967a26f67c255e230cc9780032654d',
  'tok/test_2016_flickr.lc.norm.tok.de': 'c6a33d39d48f9f510de147651316cd9d918e09ad0219df734a2f16b6baccacc4',
  'tok/test_2016_flickr.lc.norm.tok.en': '5b7f32627cf99eced828311b955dae9800bb52bc8b91cf8b6526829e605b29d2',
  'tok/test_2017_flickr.lc.norm.tok.de': '02067e4a9402786a4fcb8c1b6f4307e4a5073ced64800abead5273b54f5f31f6',
  'tok/test_2017_flickr.lc.norm.tok.en': 'c9d1dfd7a26add989382e534af235af9f0f658b2a30e7eb0efdaf142496ee54f',
  'tok/test_2017_mscoco.lc.norm.tok.de': 'e2825990b8a4e5289d2cdba801d57c187810bab9b4f5d87a30c35800a0d871b6',
  'tok/test_2017_mscoco.lc.norm.tok.en': 'fe69ae004d71c42ead0301e70c57de5b1b6b5fb7f52210d42b22801e98e656f3',
  'tok/test_2018_flickr.lc.norm.tok.de': '45ce6b121708adf538d3a8c71dc1acbcb1e0f2bca74ace8e58652f9ea5b96335',
  'tok/test_2018_flickr.lc.norm.tok.en': 'a66e25cbb8323d74a40873dcd222659f39e30ee7687a6ed5445833aed0673239',
  'tok/train.lc.norm.tok.de': 'cb5a23529b65ec2061f1dc446192a9c37382b63cc75f81a0be59d34894b3a505',
  'tok/train.lc.norm.tok.en': '08925f8e0572bcd5a006702fc5fe20e2d77c6917d4eebd576fc20de6693c2119',
  'tok/val.lc.norm.tok.de': '97232bd273eceb7207f689527386a97e4be2616b18ada47576bdaf96c8ae1f00',
  'tok/val.lc.norm.tok.en': '46573ce391ae227f1c72f873392436a20ef18e0a6d518098cfbd70b77c8572ec',
};

/** The datasets `download` knows, by name. */
export const DATASETS: Record<string, DatasetSource> = {
  cifar10: {
    description: 'CIFAR-10 binary version, read directly by loadCifar10',
    bytes: 170_052_171,
    presentWhen: [['cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-batches-bin/test_batch.bin'], ['cifar-10-binary.tar.gz']],
    files: [{ url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', path: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' }],
    checksumNote: 'md5 as published on https://www.cs.toronto.edu/~kriz/cifar.html (no sha256 is published)',
  },
  cifar100: {
    description: 'CIFAR-100 binary version, read directly by loadCifar100',
    bytes: 168_513_733,
    presentWhen: [['cifar-100-binary/train.bin', 'cifar-100-binary/test.bin'], ['cifar-100-binary.tar.gz']],
    files: [{ url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz', path: 'cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8' }],
    checksumNote: 'md5 as published on https://www.cs.toronto.edu/~kriz/cifar.html (no sha256 is published)',
  },
  iwslt14: {
    description: "IWSLT'14 de-en archive (the URL of fairseq's prepare-iwslt14.sh), read directly by loadIwslt14",
    files: [{ url: 'http://dl.fbaipublicfiles.com/fairseq/data/iwslt14/de-en.tgz', path: 'iwslt14-de-en/de-en.tgz' }],
    bytes: null,
    presentWhen: [['iwslt14-de-en/de-en.tgz'], ['iwslt14-de-en/orig/de-en/'], ['iwslt14-de-en/tokenized/train.de', 'iwslt14-de-en/tokenized/train.en']],
    checksumNote: 'no checksum is published for de-en.tgz: the file is checked only for completeness (Content-Length) and by the tar reader when loaded',
  },
  multi30k: {
    description: 'Multi30k task 1 de/en: raw sentences (gzip) and the official tokenized files, from the multi30k/dataset repository',
    files: Object.entries(MULTI30K_SHA256).map(([p, sha256]) => ({ url: `${M30K}/${p}`, path: `multi30k/${p}`, sha256 })),
    bytes: 6_001_824,
    // the downloaded form (gzip), or uncompressed files put there by hand (the loader reads both)
    presentWhen: [['multi30k/raw/train.de.gz', 'multi30k/raw/train.en.gz', 'multi30k/raw/val.de.gz', 'multi30k/raw/val.en.gz'], ['multi30k/raw/train.de', 'multi30k/raw/train.en']],
    checksumNote: `sha256 of the files at multi30k/dataset commit ${MULTI30K_COMMIT}`,
  },
};

/** Progress report of `download` / `downloadFile`. */
export interface DownloadProgress {
  file: string;
  url: string;
  received: number;
  /** total bytes when known */
  total: number | null;
  /** bytes that were already on disk when this attempt started (resume) */
  resumedFrom: number;
  phase: 'downloading' | 'verifying' | 'done' | 'skipped' | 'retrying';
}

/** Options of `downloadFile` and `download`. */
export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  /** attempts after an interrupted transfer (default 5); each resumes from the bytes already received */
  retries?: number;
  /** ms to wait between attempts (default 1000) */
  retryDelayMs?: number;
  /** dataset registry (default DATASETS) */
  registry?: Record<string, DatasetSource>;
  /**
   * Base URL to fetch from instead of the publishers' hosts (a proxy, or a local copy served over HTTP): file `f` of a
   * dataset is fetched from `<mirror>/<f.path>`, i.e. the mirror holds the data folder's layout. The checksums are the
   * same. Applications take it from `--mirror` or `$ASAM_DATA_MIRROR`.
   */
  mirror?: string | null;
  /**
   * Milliseconds without progress before an attempt is abandoned (default 30 000): a host that does not answer the
   * connection within it counts as unreachable (no retries), a transfer that stalls is retried.
   */
  timeoutMs?: number;
}

/** The URL file `f` is fetched from: the publisher's, or `<mirror>/<f.path>`. */
export function sourceUrl(f: Pick<RemoteFile, 'url' | 'path'>, mirror?: string | null): string {
  if (mirror === undefined || mirror === null || mirror === '') return f.url;
  let base: URL;
  try {
    base = new URL(mirror.endsWith('/') ? mirror : `${mirror}/`);
  } catch {
    throw new RangeError(`mirror ${JSON.stringify(mirror)} is not a URL; give a base URL such as http://host:8000/asam-data`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new RangeError(`mirror ${JSON.stringify(mirror)} is not an http(s) URL; give a base URL such as http://host:8000/asam-data`);
  }
  return new URL(f.path.split('/').map(encodeURIComponent).join('/'), base).toString();
}

async function hashFile(path: string, algo: 'sha256' | 'md5'): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function verify(path: string, f: Pick<RemoteFile, 'sha256' | 'md5'>, label: string): Promise<void> {
  if (f.sha256) {
    const got = await hashFile(path, 'sha256');
    if (got !== f.sha256.toLowerCase()) throw new ChecksumError(label, 'sha256', f.sha256, got);
  } else if (f.md5) {
    const got = await hashFile(path, 'md5');
    if (got !== f.md5.toLowerCase()) throw new ChecksumError(label, 'md5', f.md5, got);
  }
}

class HttpStatusError extends Error {
  constructor(readonly url: string, readonly status: number) {
    super(`GET ${url}: HTTP ${status}`);
  }
}

/** A host that did not answer within the timeout (`code` 'ETIMEDOUT' before any response: treated as unreachable). */
class NoAnswerError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(url: string, ms: number) {
    super(`GET ${url}: no answer within ${ms / 1000} s`);
  }
}

/** One GET attempt, appending to `part` from byte `have`. Resolves when the body ends complete; rejects on interruption. */
function fetchInto(url: string, part: string, have: number, onData: (received: number, total: number | null) => void, timeoutMs: number, redirects = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const headers: Record<string, string> = { 'user-agent': '@asam/data' };
    if (have > 0) headers['range'] = `bytes=${have}-`;
    let answered = false;
    const req = lib.get(url, { headers, timeout: timeoutMs }, (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return reject(new Error(`GET ${url}: too many redirects`));
        return fetchInto(new URL(res.headers.location, url).toString(), part, have, onData, timeoutMs, redirects + 1).then(resolve, reject);
      }
      if (status === 416 && have > 0) {
        // we already have everything the server has; let verification decide
        res.resume();
        return resolve();
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        return reject(new HttpStatusError(url, status));
      }
      let start = 0;
      if (status === 206) {
        const m = /bytes (\d+)-\d+\/(\d+|\*)/.exec(String(res.headers['content-range'] ?? ''));
        start = m ? Number(m[1]) : have;
        if (start !== have) {
          res.resume();
          return reject(new Error(`GET ${url}: server resumed at byte ${start}, expected ${have}`));
        }
      }
      const len = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      const total = len === null ? null : start + len;
      let received = start;
      const out = createWriteStream(part, { flags: status === 206 ? 'a' : 'w' });
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        out.end(() => reject(e));
      };
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        onData(received, total);
      });
      res.on('aborted', () => fail(new Error(`GET ${url}: connection closed after ${received} bytes`)));
      res.on('error', (e) => fail(e));
      out.on('error', (e) => fail(e));
      res.pipe(out);
      out.on('finish', () => {
        if (failed) return;
        if (total !== null && received < total) return fail(new Error(`GET ${url}: body ended after ${received} of ${total} bytes`));
        if (!res.complete) return fail(new Error(`GET ${url}: connection closed after ${received} bytes`));
        resolve();
      });
    });
    // no connection, no response or no data for timeoutMs: end the attempt (before a response: the host is unreachable)
    req.on('timeout', () => req.destroy(answered ? new Error(`GET ${url}: no data for ${timeoutMs / 1000} s`) : new NoAnswerError(url, timeoutMs)));
    req.on('error', reject);
  });
}

/** Socket errors that mean the host cannot be reached at all (no network, no DNS, blocked): retrying does not help. */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNREFUSED', 'ETIMEDOUT']);

/** The download host cannot be reached (offline, DNS failure, firewall); thrown at once, without retries. */
export class NetworkUnreachableError extends Error {
  constructor(readonly url: string, readonly code: string) {
    super(`cannot reach ${new URL(url).host} (${code}: no network, or the host is unreachable from this machine); ` +
      'download the files on a machine with network access and copy them into the data folder, point ASAM_DATA_DIR / --data-dir at existing data, ' +
      'or fetch from a mirror (--mirror URL or ASAM_DATA_MIRROR=URL)');
    this.name = 'NetworkUnreachableError';
  }
}

/**
 * Downloads `url` to `dest` atomically and resumably (see module doc). Verifies `sha256` or `md5` when given;
 * on mismatch the partial file is deleted and ChecksumError is thrown. If `dest` exists and verifies, nothing
 * is fetched.
 */
export async function downloadFile(url: string, dest: string, o: DownloadOptions & { sha256?: string; md5?: string } = {}): Promise<void> {
  const report = (p: Omit<DownloadProgress, 'file' | 'url'>) => o.onProgress?.({ file: dest, url, ...p });
  const sums = { ...(o.sha256 ? { sha256: o.sha256 } : {}), ...(o.md5 ? { md5: o.md5 } : {}) };
  if (existsSync(dest)) {
    report({ received: 0, total: null, resumedFrom: 0, phase: 'verifying' });
    await verify(dest, sums, dest);
    report({ received: 0, total: null, resumedFrom: 0, phase: 'skipped' });
    return;
  }
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = o.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    const have = existsSync(part) ? (await stat(part)).size : 0;
    try {
      await fetchInto(url, part, have, (received, total) => report({ received, total, resumedFrom: have, phase: 'downloading' }), o.timeoutMs ?? 30_000);
      break;
    } catch (e) {
      if (e instanceof HttpStatusError && e.status >= 400 && e.status < 500) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== undefined && UNREACHABLE.has(code)) throw new NetworkUnreachableError(url, code);
      if (attempt >= retries) throw new Error(`${(e as Error).message}; gave up after ${attempt + 1} attempts (partial data kept in ${part}; run again to resume)`);
      report({ received: existsSync(part) ? (await stat(part)).size : 0, total: null, resumedFrom: have, phase: 'retrying' });
      await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 1000));
    }
  }
  report({ received: (await stat(part)).size, total: null, resumedFrom: 0, phase: 'verifying' });
  try {
    await verify(part, sums, dest);
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  }
  await rename(part, dest);
  report({ received: (await stat(dest)).size, total: null, resumedFrom: 0, phase: 'done' });
}

/**
 * Downloads the dataset `name` (a key of `DATASETS`: cifar10, cifar100, iwslt14, multi30k) into `dir`, with
 * the layout the loaders expect. Returns the local paths.
 */
export async function download(name: string, dir: string, o: DownloadOptions = {}): Promise<string[]> {
  const registry = o.registry ?? DATASETS;
  const src = registry[name];
  if (!src) throw new RangeError(`download: unknown dataset ${JSON.stringify(name)}; known: ${Object.keys(registry).join(', ')}`);
  const paths: string[] = [];
  for (const f of src.files) {
    const dest = join(dir, f.path);
    await downloadFile(sourceUrl(f, o.mirror), dest, { ...o, ...(f.sha256 ? { sha256: f.sha256 } : {}), ...(f.md5 ? { md5: f.md5 } : {}) });
    paths.push(dest);
  }
  return paths;
}

function presentPath(dir: string, rel: string): boolean {
  const p = join(dir, rel);
  if (!existsSync(p)) return false;
  const st = statSync(p);
  return rel.endsWith('/') ? st.isDirectory() : st.isFile() && st.size > 0;
}

/** Whether dataset `name` is in `dir` (one of its `presentWhen` alternatives complete, else every file of it). */
export function datasetPresent(name: string, dir: string, registry: Record<string, DatasetSource> = DATASETS): boolean {
  const src = registry[name];
  if (!src) throw new RangeError(`unknown dataset ${JSON.stringify(name)}; known: ${Object.keys(registry).join(', ')}`);
  const alternatives = src.presentWhen ?? [src.files.map((f) => f.path)];
  return alternatives.some((set) => set.every((rel) => presentPath(dir, rel)));
}

/** "162 MiB", "5.7 MiB", "980 KiB"; null → "size not published". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'size not published';
  if (n >= 100 * 2 ** 20) return `${Math.round(n / 2 ** 20)} MiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${Math.round(n)} B`;
}
