/**
 * Module URLs that survive the build. Worker threads and replica specs name a module by URL
 * (`new URL('./x.ts', import.meta.url)`), which the compiler's rewriting of import specifiers does not reach: from
 * source (tsx, vitest) the file is `x.ts`, in the built package (`dist/`) it is `x.js`.
 */

const EXTENSION = /\.[cm]?[jt]s$/;

/**
 * The URL of the module `relative` (given without extension, e.g. `'./task-model'`) beside `base` (the caller's
 * `import.meta.url`), with the extension `base` has: `.ts` when running from source, `.js` when running built.
 */
export function siblingModule(relative: string, base: string): URL {
  if (EXTENSION.test(relative)) {
    throw new Error(`siblingModule: give '${relative}' without its extension; it takes the extension of the calling module (${base}).`);
  }
  const ext = EXTENSION.exec(new URL(base).pathname)?.[0];
  if (ext === undefined) throw new Error(`siblingModule: base ${base} is not a .ts/.js module URL; pass import.meta.url.`);
  return new URL(relative + ext, base);
}
