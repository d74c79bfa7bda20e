import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'asam-atomic-'));

describe.each([
  ['writeFileAtomicSync', async (p: string, d: string | Uint8Array | Uint8Array[]) => writeFileAtomicSync(p, d)],
  ['writeFileAtomic', writeFileAtomic],
] as const)('%s', (_name, write) => {
  it('writes text, bytes and chunk lists, replacing the old file and leaving no temp file', async () => {
    const d = dir();
    const p = join(d, 'f.txt');
    await write(p, 'old');
    await write(p, 'néw\n');
    expect(readFileSync(p, 'utf8')).toBe('néw\n');
    await write(p, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(p)]).toEqual([1, 2, 3]);
    await write(p, [new Uint8Array([4]), new Uint8Array(0), new Uint8Array([5, 6])]);
    expect([...readFileSync(p)]).toEqual([4, 5, 6]);
    expect(readdirSync(d)).toEqual(['f.txt']);
  });

  it('a write that fails at the rename (the target is a folder) leaves the target alone and removes its temp file', async () => {
    const d = dir();
    const p = join(d, 'target');
    mkdirSync(p);
    writeFileSync(join(p, 'keep'), 'x');
    await expect(write(p, 'new')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readFileSync(join(p, 'keep'), 'utf8')).toBe('x');
    expect(readdirSync(d)).toEqual(['target']);
  });
});
