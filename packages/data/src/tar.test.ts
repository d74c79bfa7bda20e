import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTarEntries, writeTar } from './tar.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'asam-tar-'));

describe('tar reader', () => {
  it('reads only wanted entries, incl. ustar prefix names, from .tar and .tar.gz', async () => {
    const long = `${'d'.repeat(80)}/${'e'.repeat(60)}/file.bin`;
    const entries = [
      { name: 'a/one.txt', data: Buffer.from('one') },
      { name: long, data: Buffer.alloc(1000, 7) },
      { name: 'a/empty', data: Buffer.alloc(0) },
      { name: 'a/skip.bin', data: Buffer.alloc(5000, 1) },
    ];
    for (const gzip of [false, true]) {
      const f = join(tmp(), gzip ? 'x.tgz' : 'x.tar');
      writeFileSync(f, writeTar(entries, { gzip }));
      const got = await readTarEntries(f, (n) => n !== 'a/skip.bin');
      expect([...got.keys()]).toEqual(['a/one.txt', long, 'a/empty']);
      expect(got.get(long)?.equals(Buffer.alloc(1000, 7))).toBe(true);
    }
  });

  it('reads archives made by GNU tar (long names via ././@LongLink, ./ prefixes)', async () => {
    const d = tmp();
    const deep = join('src', 'x'.repeat(120));
    mkdirSync(join(d, 'src'));
    writeFileSync(join(d, deep), 'deep');
    writeFileSync(join(d, 'src', 'b.txt'), 'bee');
    const f = join(tmp(), 'gnu.tar.gz');
    execFileSync('tar', ['--format=gnu', '-czf', f, '-C', d, '.']);
    const got = await readTarEntries(f, () => true);
    expect(got.get(deep)?.toString()).toBe('deep');
    expect(got.get('src/b.txt')?.toString()).toBe('bee');
    const fp = join(tmp(), 'pax.tar');
    execFileSync('tar', ['--format=pax', '-cf', fp, '-C', d, deep]);
    expect((await readTarEntries(fp, () => true)).get(deep)?.toString()).toBe('deep');
  });

  it('corrupt header and truncated archives give errors naming the file', async () => {
    const tar = writeTar([{ name: 'a', data: Buffer.alloc(3000, 2) }]);
    const f = join(tmp(), 'bad.tar');
    const bad = Buffer.from(tar);
    bad[10] = 65;
    writeFileSync(f, bad);
    await expect(readTarEntries(f, () => true)).rejects.toThrow(/bad\.tar: corrupt tar header at byte 0/);
    writeFileSync(f, tar.subarray(0, 1500));
    await expect(readTarEntries(f, () => true)).rejects.toThrow(/bad\.tar: archive truncated: entry a is missing/);
  });
});
