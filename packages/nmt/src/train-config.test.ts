import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, UnknownIdError } from '@asam/train';
import { getPreset, registerPreset, validateArch } from './presets.ts';
import { defaultTranslationConfig, resolveTranslationConfig, sharpnessConfigOf, TranslationConfigError, validateTranslationConfig } from './train-config.ts';
import { CONFIG_SCHEMA_PATH, configSchemaText } from './write-config-schema.ts';

const ARCH_ORDER = ['encoderLayers', 'decoderLayers', 'dModel', 'ffnDim', 'heads', 'dropout', 'attentionDropout', 'activationDropout',
  'shareDecoderInputOutputEmbed', 'shareAllEmbeddings', 'preNorm', 'scaleEmbedding'];
const base = { dataDir: 'data', outDir: 'runs/x', cacheDir: 'cache' };
const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TranslationConfigError);
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a TranslationConfigError');
};

describe('resolveTranslationConfig (zod schema)', () => {
  it('defaults: search field by field, optimizer as a whole (as given), null search/optimizer = the default', () => {
    const d = defaultTranslationConfig();
    const c = resolveTranslationConfig({ ...base, search: { beam: 4 }, optimizer: { method: 'sam', rho: 0.1 } });
    expect(c.search).toEqual({ ...d.search, beam: 4 });
    expect(c.optimizer).toEqual({ method: 'sam', rho: 0.1, perturbedDropout: 'reuse' });
    expect(resolveTranslationConfig({ ...base, search: null, optimizer: null } as never)).toEqual({ ...d, ...base });
    expect(resolveTranslationConfig({ ...base, corpus: 'iwslt14' }).testSplit).toBe('test');
    expect(validateTranslationConfig(c)).toBeUndefined();
  });

  it('one line naming the field path, the value, the range and the fix', () => {
    expect(message(() => resolveTranslationConfig({ ...base, lrr: 1 } as never))).toMatch(/^Invalid translation config 'lrr': got 1; expected no such field; valid fields: preset, .*; did you mean "lr"\?$/);
    expect(message(() => resolveTranslationConfig({ ...base, archOverrides: { dropout: 2 } }))).toBe("Invalid translation config 'archOverrides.dropout': got 2; expected a number in [0, 1).");
    expect(message(() => resolveTranslationConfig({ ...base, archOverrides: { heads: 5 } })))
      .toBe("Invalid translation config 'archOverrides.heads': got 5; expected a divisor of dModel = 512 (dModel must be divisible by heads); choose heads dividing dModel (the preset transformer_iwslt_de_en with archOverrides).");
    expect(message(() => resolveTranslationConfig({ ...base, search: { width: 3 } as never }))).toMatch(/'search\.width': got 3; expected no such field; valid fields: kind, beam,/);
    expect(message(() => resolveTranslationConfig({ ...base, warmupInitLr: 1e-2 }))).toBe("Invalid translation config 'warmupInitLr': got 0.01; expected a number in [0, lr = 0.0005].");
    expect(message(() => resolveTranslationConfig({ ...base, corpus: 'iwslt14', testSplit: 'test2016' }))).toMatch(/'testSplit': got "test2016"; expected one of test, valid for corpus iwslt14\.$/);
    expect(message(() => resolveTranslationConfig(7 as never))).toBe("Invalid translation config 'config': got 7; expected an object.");
  });

  it("optimizer.perturbedDropout: one named field, default 'reuse' filled into a config written without it, checked, kept from core's config", () => {
    // a config.json written before the field (the committed Multi30k runs) resolves to the default, so its run resumes
    const saved = { ...base, optimizer: { method: 'sam', rho: 0.1, weightDecay: 1e-4 } } as const;
    expect(resolveTranslationConfig(saved).optimizer).toEqual({ method: 'sam', rho: 0.1, weightDecay: 1e-4, perturbedDropout: 'reuse' });
    expect(defaultTranslationConfig().optimizer.perturbedDropout).toBe('reuse');
    const r = resolveTranslationConfig({ ...base, optimizer: { method: 'asam', rho: 0.2, perturbedDropout: 'resample' } });
    expect(r.optimizer.perturbedDropout).toBe('resample');
    expect(sharpnessConfigOf(r.optimizer)).toEqual({ method: 'asam', rho: 0.2 });
    expect(message(() => resolveTranslationConfig({ ...base, optimizer: { method: 'sam', rho: 0.1, perturbedDropout: 'fresh' as never } })))
      .toMatch(/^Invalid translation config 'optimizer\.perturbedDropout': got "fresh"; expected one of "reuse", "resample" \(default "reuse"\)\.$/);
  });

  it('validateTranslationConfig refuses an unknown preset as its own field', () => {
    const c = { ...resolveTranslationConfig(base), preset: 'transformer_huge' };
    expect(message(() => validateTranslationConfig(c))).toMatch(/'preset': got "transformer_huge"; expected one of transformer_iwslt_de_en, /);
  });
});

describe('presets (createRegistry) and validateArch (zod)', () => {
  it('unknown presets are UnknownIdError with the nearest; names must be lower_snake', () => {
    expect(() => getPreset('transformer_smal')).toThrow(UnknownIdError);
    expect(() => getPreset('transformer_smal')).toThrow(/unknown Transformer preset 'transformer_smal'; valid Transformer presets: .*; did you mean 'transformer_small'\?/);
    expect(() => registerPreset({ name: 'Big-One', description: '', arch: getPreset('transformer_tiny').arch })).toThrow(/lower_snake/);
  });

  it('validateArch names <where>.<field>, the value and the range', () => {
    const a = getPreset('transformer_tiny').arch;
    expect(() => validateArch({ ...a, ffnDim: 0 }, 'preset x')).toThrow('preset x.ffnDim = 0 is invalid: expected an integer >= 1');
    expect(() => validateArch({ ...a, heads: 5 })).toThrow('arch.heads = 5 is invalid: expected a divisor of dModel = 32 (dModel must be divisible by heads); choose heads dividing dModel');
    expect(() => validateArch({ ...a, dModel: 33, heads: 3 })).toThrow('arch.dModel = 33 is invalid: expected an even number (sinusoidal positions use sin/cos halves)');
    expect(() => validateArch({ ...a, preNorm: 'yes' as never })).toThrow('arch.preNorm = "yes" is invalid: expected true or false');
    expect(validateArch(a)).toBeUndefined();
  });
});

describe('config.schema.json', () => {
  it('is the JSON Schema of the zod config schema (regenerate: pnpm --filter @asam/nmt schema)', () => {
    expect(readFileSync(CONFIG_SCHEMA_PATH, 'utf8')).toBe(configSchemaText());
  });

  it('documents every field, search and archOverrides field by field', () => {
    const s = JSON.parse(configSchemaText()) as { properties: Record<string, { description?: string; properties?: object }>; additionalProperties: boolean };
    const d = defaultTranslationConfig();
    expect(Object.keys(s.properties)).toEqual(Object.keys(d));
    expect(Object.keys(s.properties.search!.properties!)).toEqual(Object.keys(d.search));
    expect(Object.keys(s.properties.archOverrides!.properties!)).toEqual(Object.keys(getPreset('transformer_tiny').arch).sort((x, y) => ARCH_ORDER.indexOf(x) - ARCH_ORDER.indexOf(y)));
    expect(s.additionalProperties).toBe(false);
    for (const [k, v] of Object.entries(s.properties)) expect(v.description, k).toBeTruthy();
  });
});
