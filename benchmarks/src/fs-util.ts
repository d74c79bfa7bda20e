/** File helpers for run folders: atomic JSON writes, tolerant reads, CSV through csv-parse / csv-stringify. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '@asam/train';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

/** Writes a file atomically (`writeFileAtomicSync` of @asam/train), creating its folder first. */
export function writeFileAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, data);
}

/** `writeFileAtomic` of pretty-printed JSON with a trailing newline. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Parsed JSON, or `undefined` when the file does not exist. Throws naming the file if it is not valid JSON. */
export function readJsonIfExists<T = unknown>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    // a user error (one line, no stack): a run file damaged by a crash, a full disk or an edit
    const err = new Error(`${file}: not valid JSON (${text.length === 0 ? 'the file is empty' : (e as Error).message}); fix: delete the file (the cell then starts again from its checkpoint, or from the start) or repair it`);
    err.name = 'ResumeError';
    throw err;
  }
}

/** Parses CSV (first line = header) into rows of strings keyed by column, with `csv-parse`. Numeric conversion is left to the caller. */
export function parseCsv(text: string): Array<Record<string, string>> {
  return parse(text, { columns: (h: string[]) => h.map((c) => c.trim()), skip_empty_lines: true, trim: true, relax_column_count: true }) as Array<Record<string, string>>;
}

/** Rows → CSV text with the given column order (`csv-stringify`; null, undefined and non-finite numbers as empty fields). */
export function toCsv(columns: string[], rows: Array<Record<string, unknown>>): string {
  const clean = rows.map((r) => columns.map((c) => {
    const v = r[c];
    return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }));
  return stringify(clean, { header: true, columns, record_delimiter: '\n' });
}
