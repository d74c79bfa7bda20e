/**
 * Minimal streaming reader (and writer) for POSIX ustar / GNU tar archives, optionally gzip-compressed.
 * Enough for the official dataset tarballs (CIFAR binary, IWSLT'14 de-en.tgz): regular files, GNU long
 * names (`L`), pax `path=` records (`x`); other entry types are skipped.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import { DataFormatError } from './errors.ts';

const BLOCK = 512;

function parseOctal(buf: Buffer, off: number, len: number, file: string, at: number): number {
  const first = buf[off] ?? 0;
  if (first & 0x80) {
    // GNU base-256 encoding for large sizes.
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + (buf[off + i] ?? 0);
    return v;
  }
  const s = buf.toString('latin1', off, off + len).replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new DataFormatError(file, `bad tar header at byte ${at}: size field ${JSON.stringify(s)} is not octal`);
  return parseInt(s, 8);
}

function cstr(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

/** Is the file gzip-compressed (magic bytes 1f 8b)? */
async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Streams a `.tar` / `.tar.gz` / `.tgz` file and returns the contents of the regular files whose
 * path (as stored, e.g. `cifar-10-batches-bin/data_batch_1.bin`) satisfies `want`. Files not wanted are
 * skipped without being buffered, so memory is bounded by the wanted files.
 */
export async function readTarEntries(file: string, want: (name: string) => boolean): Promise<Map<string, Buffer>> {
  const gz = await isGzip(file);
  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = gz ? src.pipe(createGunzip()) : src;
  if (gz) src.on('error', (e) => stream.destroy(e));
  const out = new Map<string, Buffer>();
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0; // archive byte offset of pending[0]
  // state: reading a header, or consuming `remaining` data bytes (+ padding)
  let remaining = 0;
  let padding = 0;
  let current: { name: string; chunks: Buffer[] | null; kind: 'file' | 'longname' | 'pax' | 'skip' } | null = null;
  let longName: string | null = null;
  let paxPath: string | null = null;
  let ended = false;

  const finishEntry = (): void => {
    if (!current) return;
    const data = current.chunks ? Buffer.concat(current.chunks) : null;
    if (current.kind === 'longname' && data) longName = cstr(data, 0, data.length);
    else if (current.kind === 'pax' && data) {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m && m[1] !== undefined) paxPath = m[1];
    } else if (current.kind === 'file' && data) out.set(current.name, data);
    current = null;
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let pos = 0;
      while (!ended) {
        if (remaining > 0) {
          const take = Math.min(remaining, pending.length - pos);
          if (take === 0) break;
          if (current?.chunks) current.chunks.push(pending.subarray(pos, pos + take));
          pos += take;
          remaining -= take;
          if (remaining === 0) finishEntry();
          continue;
        }
        if (padding > 0) {
          const take = Math.min(padding, pending.length - pos);
          if (take === 0) break;
          pos += take;
          padding -= take;
          continue;
        }
        if (pending.length - pos < BLOCK) break;
        const h = pending.subarray(pos, pos + BLOCK);
        const at = offset + pos;
        pos += BLOCK;
        if (h.every((b) => b === 0)) {
          ended = true; // end-of-archive marker (two zero blocks; the first is enough)
          break;
        }
        // checksum: sum of header bytes with the checksum field taken as spaces
        const stored = parseOctal(h, 148, 8, file, at);
        let sum = 0;
        for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
        if (sum !== stored) throw new DataFormatError(file, `corrupt tar header at byte ${at} (checksum ${sum} != stored ${stored}); the archive is damaged or not a tar file`);
        const size = parseOctal(h, 124, 12, file, at);
        const type = String.fromCharCode(h[156] ?? 0);
        const magic = h.toString('latin1', 257, 262);
        let name = cstr(h, 0, 100);
        if (magic === 'ustar') {
          const prefix = cstr(h, 345, 155);
          if (prefix) name = `${prefix}/${name}`;
        }
        if (longName !== null) { name = longName; longName = null; }
        if (paxPath !== null) { name = paxPath; paxPath = null; }
        name = name.replace(/^\.\//, '');
        let kind: 'file' | 'longname' | 'pax' | 'skip' = 'skip';
        if (type === 'L') kind = 'longname';
        else if (type === 'x') kind = 'pax';
        else if ((type === '0' || type === '\0' || type === '7') && want(name)) kind = 'file';
        current = { name, chunks: kind === 'skip' ? null : [], kind };
        remaining = size;
        padding = (BLOCK - (size % BLOCK)) % BLOCK;
        if (size === 0) finishEntry();
      }
      offset += pos;
      pending = pending.subarray(pos);
      // copy the tail so the big chunk can be garbage-collected
      if (pending.length) pending = Buffer.from(pending);
      if (ended) break;
    }
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    throw new DataFormatError(file, `cannot read archive: ${(e as Error).message}`);
  } finally {
    stream.destroy();
    src.destroy();
  }
  if (remaining > 0) throw new DataFormatError(file, `archive truncated: entry ${current?.name ?? '?'} is missing ${remaining} bytes`);
  return out;
}

/** Builds a ustar archive in memory (names ≤ 100 bytes, or split across prefix/name ≤ 255). gzip when `gzip`. */
export function writeTar(entries: { name: string; data: Uint8Array }[], opts: { gzip?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(BLOCK);
    let name = e.name;
    let prefix = '';
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf('/', name.length - 1);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
      if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`writeTar: name too long: ${e.name}`);
    }
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    h.write(e.data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
    h.write('00000000000\0', 136, 'latin1');
    h.write('        ', 148, 'latin1');
    h.write('0', 156, 'latin1');
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
    h.write(prefix, 345, 155, 'utf8');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += h[i] ?? 0;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    parts.push(h, Buffer.from(e.data), Buffer.alloc((BLOCK - (e.data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  const tar = Buffer.concat(parts);
  return opts.gzip ? gzipSync(tar) : tar;
}
