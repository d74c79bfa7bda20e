/**
 * A pool of worker threads decoding JPEGs (jpeg-js) in parallel with the main thread, so that decoding of
 * the next batch overlaps training on the current one. Workers only keep the process alive while jobs are
 * in flight; call `close()` when done.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DataFormatError } from './errors.ts';
import type { RgbImage } from './imagenet.ts';

interface Job {
  resolve: (img: RgbImage) => void;
  reject: (e: Error) => void;
  file: string;
}

/** Parallel JPEG decoder. `size` workers (default: available cores − 1, at least 1). */
export class JpegDecoderPool {
  private readonly workers: { w: Worker; inFlight: number }[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private closed = false;

  constructor(size = Math.max(1, availableParallelism() - 1), private readonly o: { tolerant?: boolean } = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`JpegDecoderPool: size must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./jpeg-worker.mjs', import.meta.url));
      const slot = { w, inFlight: 0 };
      w.unref();
      w.on('message', (m: { id: number; width?: number; height?: number; data?: Uint8Array; error?: string }) => {
        const job = this.jobs.get(m.id);
        if (!job) return;
        this.jobs.delete(m.id);
        if (--slot.inFlight === 0) w.unref();
        if (m.error !== undefined) job.reject(new DataFormatError(job.file, `unreadable JPEG: ${m.error}`));
        else job.resolve({ width: m.width as number, height: m.height as number, data: m.data as Uint8Array });
      });
      w.on('error', (e) => {
        for (const [id, job] of this.jobs) { this.jobs.delete(id); job.reject(e); }
      });
      this.workers.push(slot);
    }
  }

  /** Decodes `bytes` (copied, the caller's buffer is untouched) in a worker; errors name `file`. */
  decode(bytes: Uint8Array, file: string): Promise<RgbImage> {
    if (this.closed) return Promise.reject(new Error('JpegDecoderPool: decode() after close()'));
    let slot = this.workers[0] as { w: Worker; inFlight: number };
    for (const s of this.workers) if (s.inFlight < slot.inFlight) slot = s;
    const id = this.nextId++;
    const copy = new Uint8Array(bytes); // own ArrayBuffer, safe to transfer
    return new Promise<RgbImage>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, file });
      if (slot.inFlight++ === 0) slot.w.ref();
      slot.w.postMessage({ id, bytes: copy.buffer, tolerant: this.o.tolerant ?? false }, [copy.buffer]);
    });
  }

  /** Terminates the workers; pending decodes are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [id, job] of this.jobs) { this.jobs.delete(id); job.reject(new Error('JpegDecoderPool closed')); }
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}
