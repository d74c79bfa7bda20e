/**
 * Data on demand: the datasets a command needs that are not in the data folder are downloaded into it (checksums
 * verified, resumable `.part` files, one progress line per dataset), unless downloads are forbidden. Every outcome
 * is returned, never thrown, so a caller can go on with what it has (a sweep runs the cells that need no data).
 */
import { DATASETS, datasetPresent, download, formatBytes, sourceUrl, type DatasetSource, type DownloadOptions } from './download.ts';
import { downloadBar, type ProgressSink } from './download-progress.ts';
import { DataNotFoundError, downloadCommand } from './errors.ts';

/** Options of {@link fetchMissing}. */
export interface FetchMissingOptions extends DownloadOptions {
  /** false: report missing datasets without fetching them (`--no-download`). */
  allowDownload: boolean;
  /** Where the progress lines go (a terminal gets a redrawn bar). */
  sink: ProgressSink;
  /** Prefix of the lines, e.g. `[bench]`. */
  tag?: string;
}

/** What happened to one dataset. */
export interface FetchOutcome {
  name: string;
  status: 'present' | 'downloaded' | 'forbidden' | 'failed';
  /** Why it is not there (forbidden, failed): one line. */
  error: string | null;
}

/** The host a dataset comes from, for messages ("www.cs.toronto.edu", or the mirror's). */
export function datasetHost(src: DatasetSource, mirror?: string | null): string {
  const f = src.files[0];
  return f ? new URL(sourceUrl(f, mirror)).host : '?';
}

/**
 * Makes sure each dataset of `names` (keys of the registry) is in `dir`: present ones are left alone; missing ones
 * are downloaded, or reported as forbidden when `allowDownload` is false. A failed download (host unreachable,
 * checksum mismatch, HTTP error) leaves no file that looks complete and is reported with its one-line reason.
 */
export async function fetchMissing(names: readonly string[], dir: string, o: FetchMissingOptions): Promise<FetchOutcome[]> {
  const registry = o.registry ?? DATASETS;
  const tag = o.tag ? `${o.tag} ` : '';
  const out: FetchOutcome[] = [];
  for (const name of [...new Set(names)]) {
    const src = registry[name];
    if (!src) throw new RangeError(`unknown dataset ${JSON.stringify(name)}; known: ${Object.keys(registry).join(', ')}`);
    if (datasetPresent(name, dir, registry)) {
      out.push({ name, status: 'present', error: null });
      continue;
    }
    if (!o.allowDownload) {
      out.push({ name, status: 'forbidden', error: `${name} is not in ${dir} and --no-download forbids fetching it` });
      continue;
    }
    o.sink.write(`${tag}${name} is not in ${dir}: downloading ${formatBytes(src.bytes)} from ${datasetHost(src, o.mirror)}\n`);
    const bar = downloadBar(o.sink);
    bar.start(name, src.bytes);
    try {
      await download(name, dir, { ...o, onProgress: (p) => { bar.update(p); o.onProgress?.(p); } });
      bar.done();
      out.push({ name, status: 'downloaded', error: null });
    } catch (e) {
      const msg = ((e as Error).message ?? String(e)).split('\n')[0]!;
      bar.fail();
      out.push({ name, status: 'failed', error: msg });
    }
  }
  return out;
}

/**
 * For a program that needs dataset `name` (a training CLI): downloads it into `dir` when it is missing and downloads
 * are allowed; a download that fails is a DataNotFoundError (a user error: one line with the reason and the fixes).
 * With downloads forbidden nothing happens here: the loader reports what is missing.
 */
export async function ensureDataset(name: string, dir: string, o: FetchMissingOptions): Promise<void> {
  if (!o.allowDownload) return;
  const [r] = await fetchMissing([name], dir, o);
  if (r?.status === 'failed') {
    throw new DataNotFoundError(`${name} (download failed: ${r.error})`, [dir],
      `${downloadCommand(name, dir)} on a machine with network access, or --mirror URL / ASAM_DATA_MIRROR=URL, or point --data-dir / ASAM_DATA_DIR at existing data`);
  }
}
