import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  addConfigIssue, ConfigError, configJsonSchema, formatPath, nearest, nonEmptyString, nullableNumberField, numberField, oneOf, parseConfig,
  rangeText,
} from './schema.ts';

const schema = z.strictObject({
  name: nonEmptyString('a non-empty run name'),
  lr: numberField({ gt: 0 }).optional(),
  workers: numberField({ int: true, min: 1, max: 64 }).default(1),
  limit: nullableNumberField({ int: true, min: 1 }).default(null),
  mode: oneOf(['fast', 'exact']).default('exact'),
  p: oneOf([2, 'inf']).optional(),
  opt: z.strictObject({ rho: numberField({ min: 0 }).default(0.05), every: numberField({ int: true, min: 1 }).optional() }, { error: 'an object' }).prefault({}),
  seeds: z.array(numberField({ int: true, min: 0, expected: 'seeds: integers >= 0' })).optional(),
}).superRefine((c, ctx) => {
  if (c.mode === 'fast' && c.limit === null) addConfigIssue(ctx, ['limit'], c.limit, 'an integer >= 1 when mode is "fast"; set limit');
});

const msg = (input: unknown): string => {
  try {
    parseConfig(schema, input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('parseConfig', () => {
  it('applies defaults and returns the parsed value', () => {
    expect(parseConfig(schema, { name: 'a' })).toEqual({ name: 'a', workers: 1, limit: null, mode: 'exact', opt: { rho: 0.05 } });
    expect(parseConfig(schema, { name: 'a', opt: { every: 2 }, p: 'inf', limit: 5 })).toEqual({ name: 'a', workers: 1, limit: 5, mode: 'exact', p: 'inf', opt: { rho: 0.05, every: 2 } });
  });

  it('names the field path, the value and the whole valid range, whichever check failed', () => {
    expect(msg({ name: 'a', workers: 0 })).toBe('config.workers = 0 is invalid: expected an integer >= 1 <= 64');
    expect(msg({ name: 'a', workers: 65 })).toBe('config.workers = 65 is invalid: expected an integer >= 1 <= 64');
    expect(msg({ name: 'a', workers: 2.5 })).toBe('config.workers = 2.5 is invalid: expected an integer >= 1 <= 64');
    expect(msg({ name: 'a', workers: '2' })).toBe('config.workers = "2" is invalid: expected an integer >= 1 <= 64');
    expect(msg({ name: 'a', lr: 0 })).toBe('config.lr = 0 is invalid: expected a finite number > 0');
    expect(msg({ name: 'a', lr: Number.POSITIVE_INFINITY })).toBe('config.lr = null is invalid: expected a finite number > 0');
    expect(msg({ name: 'a', limit: 0 })).toBe('config.limit = 0 is invalid: expected an integer >= 1 (or null)');
    expect(msg({ name: 'a', mode: 'slow' })).toBe('config.mode = "slow" is invalid: expected one of "fast", "exact"');
    expect(msg({ name: 'a', p: 3 })).toBe('config.p = 3 is invalid: expected one of 2, "inf"');
    expect(msg({ name: 'a', opt: { rho: -1 } })).toBe('config.opt.rho = -1 is invalid: expected a finite number >= 0');
    expect(msg({ name: 'a', opt: 5 })).toBe('config.opt = 5 is invalid: expected an object');
    expect(msg({ name: 'a', seeds: [0, -1] })).toBe('config.seeds[1] = -1 is invalid: expected seeds: integers >= 0');
    expect(msg({ name: '' })).toBe('config.name = "" is invalid: expected a non-empty run name');
    expect(msg({})).toBe('config.name = undefined is invalid: expected a non-empty run name');
  });

  it('refuses unknown fields first, listing the valid ones and the nearest', () => {
    expect(msg({ name: 'a', worker: 2, lr: -1 })).toBe('config.worker = 2 is invalid: expected no such field; valid fields: name, lr, workers, limit, mode, p, opt, seeds; did you mean "workers"?');
    expect(msg({ name: 'a', opt: { rhoo: 1 } })).toBe('config.opt.rhoo = 1 is invalid: expected no such field; valid fields: rho, every; did you mean "rho"?');
    expect(msg({ name: 'a', zzz: 1 })).toMatch(/valid fields: name, .*seeds$/);
  });

  it('reports cross-field checks with their fix, after the fields are valid', () => {
    expect(msg({ name: 'a', mode: 'fast' })).toBe('config.limit = null is invalid: expected an integer >= 1 when mode is "fast"; set limit');
    expect(parseConfig(schema, { name: 'a', mode: 'fast', limit: 3 }).limit).toBe(3);
  });

  it('a root that is not an object; `where` names the config; a factory builds the package error', () => {
    expect(msg(null)).toMatch(/^config = null is invalid: expected/);
    expect(() => parseConfig(schema, { name: 'a', lr: -2 }, 'experiment "x"')).toThrow('experiment "x".lr = -2 is invalid: expected a finite number > 0');
    class MyError extends Error {
      constructor(readonly field: string, readonly value: unknown, readonly expected: string) {
        super(`${field}|${JSON.stringify(value)}|${expected}`);
      }
    }
    expect(() => parseConfig(schema, { name: 'a', workers: 0 }, (f, v, e) => new MyError(f, v, e))).toThrow(new MyError('workers', 0, 'an integer >= 1 <= 64'));
  });

  it('ConfigError carries field, value and expected, and is named for the CLI user-error list', () => {
    const e = new ConfigError('optimizer.rho', -1, 'a finite number >= 0');
    expect([e.name, e.field, e.value, e.expected]).toEqual(['ConfigError', 'optimizer.rho', -1, 'a finite number >= 0']);
    expect(e.message).toBe('config.optimizer.rho = -1 is invalid: expected a finite number >= 0');
  });
});

describe('helpers', () => {
  it('rangeText, formatPath, nearest', () => {
    expect(rangeText({ int: true, min: 8, max: 1024 })).toBe('an integer >= 8 <= 1024');
    expect(rangeText({ min: 0, lt: 1 })).toBe('a finite number >= 0 < 1');
    expect(formatPath(['grid', 'seed', 1, 'x'])).toBe('grid.seed[1].x');
    expect(formatPath([])).toBe('');
    expect(nearest('epoch', ['epochs', 'seed'])).toBe('epochs');
    expect(nearest('batchsize', ['batchSize', 'evalBatchSize'])).toBe('batchSize');
    expect(nearest('zzzzzz', ['epochs', 'seed'])).toBeUndefined();
  });

  it('configJsonSchema: the input side, with defaults, descriptions and additionalProperties false', () => {
    const s = z.strictObject({ a: numberField({ int: true, min: 1 }).default(3).describe('the a'), b: oneOf(['x', 'y']).optional() })
      .transform((v) => ({ ...v, c: 1 }));
    const j = configJsonSchema(s, { title: 'T', description: 'D' }) as { title: string; description: string; properties: Record<string, Record<string, unknown>>; additionalProperties: boolean };
    expect(j.title).toBe('T');
    expect(j.description).toBe('D');
    expect(j.additionalProperties).toBe(false);
    expect(j.properties.a).toMatchObject({ type: 'integer', minimum: 1, default: 3, description: 'the a' });
    expect(j.properties.b).toMatchObject({ enum: ['x', 'y'] });
    expect(j.properties.c).toBeUndefined();
  });
});
