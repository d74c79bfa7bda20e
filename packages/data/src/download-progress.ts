/**
 * The progress display of a dataset download: one line per dataset with a bar, bytes received of the total, the
 * rate and the time left. On a terminal the line is redrawn in place (at most every `redrawMs`); elsewhere (a log
 * file, CI) only the finished line is written, so a log gets one line per dataset.
 *
 *   const bar = downloadBar(process.stdout);
 *   bar.start('cifar10', DATASETS.cifar10.bytes);
 *   await download('cifar10', dir, { onProgress: bar.update });
 *   bar.done();                       // or bar.fail()
 *
 * The sink is passed in (this library never writes to the process's streams on its own).
 */
import type { DownloadProgress } from './download.ts';
import { formatBytes } from './download.ts';

/** Where the display writes: a stream, with `isTTY` when it is a terminal. */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** A download's display (see the module comment). */
export interface DownloadBar {
  /** Starts the line of dataset `name`; `totalBytes` is the whole dataset's size when known. */
  start(name: string, totalBytes: number | null | undefined): void;
  /** Feeds a progress event of `download` / `downloadFile`. */
  update(p: DownloadProgress): void;
  /** Ends the line: the bytes fetched, the time and the mean rate. */
  done(): void;
  /** Ends the line saying the download failed (the caller says why). */
  fail(): void;
}

const WIDTH = 24;

function clock(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** The progress line: `name [#####-----] 45.3 MiB / 162 MiB  3.2 MiB/s  0:36 left`. */
export function progressLine(name: string, received: number, total: number | null, seconds: number): string {
  const rate = seconds > 0 ? received / seconds : 0;
  const rateText = `${formatBytes(rate)}/s`;
  if (total === null || total <= 0) return `${name} ${formatBytes(received)}  ${rateText}`;
  const frac = Math.min(1, received / total);
  const filled = Math.round(frac * WIDTH);
  const left = rate > 0 ? clock((total - received) / rate) : '?';
  return `${name} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${formatBytes(received)} / ${formatBytes(total)}  ${rateText}  ${left} left`;
}

/** A {@link DownloadBar} writing to `out`; `now` (ms) is injectable for tests. */
export function downloadBar(out: ProgressSink, o: { redrawMs?: number; now?: () => number } = {}): DownloadBar {
  const now = o.now ?? (() => Date.now());
  const redrawMs = o.redrawMs ?? 200;
  let name = '';
  let total: number | null = null;
  let t0 = 0;
  let lastDraw = -Infinity;
  /** bytes of the files finished so far, and the received count of the file in progress */
  let finished = 0;
  let current = 0;
  let resumed = 0;
  let drawn = false;
  const received = () => finished + current;
  const draw = (force: boolean) => {
    if (!out.isTTY) return;
    const t = now();
    if (!force && t - lastDraw < redrawMs) return;
    lastDraw = t;
    out.write(`\r${progressLine(name, received(), total, (t - t0) / 1000)}\u001b[K`);
    drawn = true;
  };
  const end = (line: string) => {
    out.write(`${drawn ? '\r' : ''}${line}${out.isTTY ? '\u001b[K' : ''}\n`);
    drawn = false;
  };
  return {
    start(n, bytes) {
      name = n; total = bytes ?? null; t0 = now(); lastDraw = -Infinity; finished = 0; current = 0; resumed = 0;
      draw(true);
    },
    update(p) {
      if (p.phase === 'downloading') {
        current = p.received;
        if (total === null && p.total !== null && finished === 0) total = p.total;
        resumed = Math.max(resumed, p.resumedFrom);
      } else if (p.phase === 'done') {
        finished += p.received;
        current = 0;
      }
      draw(p.phase !== 'downloading');
    },
    done() {
      const s = (now() - t0) / 1000;
      const fetched = received() - resumed;
      end(`${name} ${formatBytes(received())} in ${clock(s)} (${formatBytes(s > 0 ? fetched / s : fetched)}/s${resumed ? `, resumed at ${formatBytes(resumed)}` : ''}), checksums verified`);
    },
    fail() {
      end(`${name} download failed${received() > 0 ? ` after ${formatBytes(received())}` : ''}`);
    },
  };
}
