/**
 * Writes test/fixtures/resolved-configs.json: what the vision and translation config resolvers return (or which error
 * class they throw) for every config a benchmark cell can hand them, plus hand-picked edge cases. A running sweep
 * resumes a cell only when its saved config.json resolves to the same config, so the resolvers must not change their
 * output for any input they accept; test/config-compat.test.ts resolves the same inputs with the current code and
 * compares.
 *
 * The committed fixture was made with the hand-written resolvers that preceded the zod schemas (the commit named in
 * the fixture's `generatedAt`): it is a frozen reference. Re-running this script makes the current code its own
 * reference, so do that only on purpose (a deliberate, documented change of a default), never to make the test pass.
 *
 *   npx tsx scripts/snapshot-resolved-configs.ts    (from benchmarks/)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '@asam/vision';
import { resolveTranslationConfig } from '@asam/nmt';
import { compatInputs } from '../test/config-compat-inputs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'test', 'fixtures', 'resolved-configs.json');

function resolveWith(task: 'vision' | 'nmt', input: unknown): { resolved: unknown } | { error: string } {
  try {
    return { resolved: task === 'vision' ? resolveConfig(input as never) : resolveTranslationConfig(input as never) };
  } catch (e) {
    return { error: (e as Error).name };
  }
}

const cases = compatInputs().map((c) => ({ ...c, ...resolveWith(c.task, c.input) }));
const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({
  generatedAt: sha,
  note: 'Resolved configs of the resolvers at commit generatedAt (see scripts/snapshot-resolved-configs.ts); a frozen reference.',
  cases,
}, null, 1) + '\n');
console.log(`wrote ${cases.length} cases (${cases.filter((c) => 'error' in c).length} rejected) to ${path.relative(process.cwd(), out)}`);
