/**
 * Error types of @asam/data. Every message names the file (and offset/record/line where relevant),
 * what was expected, and how to fix it.
 */

/** Thrown when a dataset file or folder is absent. Says what is missing, where it looked and how to get it. */
export class DataNotFoundError extends Error {
  /** Paths that were checked, in the order they were tried. */
  readonly searched: string[];
  /** Shell command (or instruction) that fetches the data. */
  readonly downloadHint: string;
  constructor(what: string, searched: string[], downloadHint: string) {
    super(
      `${what} not found.\n  Looked in:\n${searched.map((p) => `    - ${p}`).join('\n')}\n  To get it: ${downloadHint}`,
    );
    this.name = 'DataNotFoundError';
    this.searched = searched;
    this.downloadHint = downloadHint;
  }
}

/** Thrown when a file exists but its content does not match the expected format. */
export class DataFormatError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DataFormatError';
    this.file = file;
  }
}

/** Thrown when a downloaded file's checksum differs from the published one. */
export class ChecksumError extends Error {
  constructor(
    readonly file: string,
    readonly algorithm: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${file}: ${algorithm} mismatch (expected ${expected}, got ${actual}); the file was not kept. Re-run the download.`);
    this.name = 'ChecksumError';
  }
}

/** Shell command (from the repository root) that downloads named datasets into `dir` (used in messages). */
export function downloadCommand(name: string, dir = '$ASAM_DATA_DIR'): string {
  return `pnpm data:download --dataset ${name} --data-dir ${dir}`;
}
