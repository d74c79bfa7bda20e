import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_PATH, configSchemaText } from '../write-config-schema.ts';
import { resolveConfig } from './config.ts';

describe('config.schema.json', () => {
  it('is the JSON Schema of the zod config schema (regenerate: pnpm --filter @asam/vision schema)', () => {
    expect(readFileSync(CONFIG_SCHEMA_PATH, 'utf8')).toBe(configSchemaText());
  });

  it('documents every field resolveConfig accepts, with model and out required', () => {
    const s = JSON.parse(configSchemaText()) as { properties: Record<string, { description?: string; properties?: object }>; required: string[]; additionalProperties: boolean };
    const full = resolveConfig({ model: 'resnet20', out: 'x' });
    expect(Object.keys(s.properties).sort()).toEqual(Object.keys(full).sort());
    expect(Object.keys(s.properties.optimizer!.properties!).sort()).toEqual(Object.keys(full.optimizer).sort());
    expect(s.required).toEqual(['model', 'out']);
    expect(s.additionalProperties).toBe(false);
    for (const [k, v] of Object.entries(s.properties)) expect(v.description, k).toBeTruthy();
  });
});
