/**
 * Writes config.schema.json (the JSON Schema of a training config file, generated from the zod schema in
 * src/train/config.ts): `pnpm --filter @asam/vision schema`. src/train/config-schema.test.ts fails when the committed
 * file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trainConfigJsonSchema } from './train/config.ts';

/** The file's text: the schema, two-space indented, with a final newline. */
export function configSchemaText(): string {
  return `${JSON.stringify(trainConfigJsonSchema(), null, 2)}\n`;
}

export const CONFIG_SCHEMA_PATH = fileURLToPath(new URL('../config.schema.json', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_SCHEMA_PATH, configSchemaText());
  process.stdout.write(`wrote ${CONFIG_SCHEMA_PATH}\n`);
}
