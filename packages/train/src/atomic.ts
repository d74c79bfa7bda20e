/**
 * Atomic file writes: the data goes to a temp file in the target's folder, is fsync'ed, and the temp file is
 * renamed over the target. rename(2) within one file system is atomic, so a reader (or a process that resumes after
 * a crash or SIGKILL) sees either the complete old file or the complete new one, never a torn mix. A write that fails
 * removes its temp file and leaves the target untouched; a temp file left behind by a killed process is never read
 * (its name only starts with the target's) and is not in the way of later writes (each write picks a fresh name).
 */
import * as fs from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

/** What can be written: text (UTF-8), bytes, or a list of byte chunks written in order. */
export type FileData = string | Uint8Array | readonly Uint8Array[];

let sequence = 0;

/** The temp file name for one write to `path`: `<path>.tmp-<pid>-<n>`, unique within the process. */
export function tempPathFor(path: string): string {
  sequence += 1;
  return `${path}.tmp-${process.pid}-${sequence}`;
}

function chunksOf(data: FileData): readonly Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [data];
  return data;
}

/** Writes `data` to `path` atomically (temp file in the same folder, fsync, rename). The folder must exist. */
export function writeFileAtomicSync(path: string, data: FileData): void {
  const tmp = tempPathFor(path);
  const fd = fs.openSync(tmp, 'w');
  try {
    try {
      for (const c of chunksOf(data)) {
        let done = 0;
        while (done < c.byteLength) done += fs.writeSync(fd, c, done, c.byteLength - done);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Asynchronous {@link writeFileAtomicSync}: same guarantees, without blocking the event loop on the disk. */
export async function writeFileAtomic(path: string, data: FileData): Promise<void> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    try {
      for (const c of chunksOf(data)) {
        let done = 0;
        while (done < c.byteLength) done += (await fh.write(c, done, c.byteLength - done)).bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
