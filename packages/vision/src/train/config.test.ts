import { describe, expect, it } from 'vitest';
import { resolveConfig, TrainConfigError } from './config.ts';

describe('resolveConfig', () => {
  it('fills the paper CIFAR recipe', () => {
    const c = resolveConfig({ model: 'resnet20', out: 'runs/x' });
    expect(c).toMatchObject({
      dataset: 'cifar10', epochs: 200, batchSize: 128, lr: 0.1, momentum: 0.9, nesterov: false, schedule: 'cosine',
      labelSmoothing: 0.1, augment: 'cifar', labelNoise: null, trainLimit: null,
      optimizer: { method: 'asam', rho: 0.5, eta: 0.01, p: 2, normalization: 'elementwise', weightDecay: 5e-4, every: 1 },
    });
    expect(resolveConfig({ model: 'resnet20', out: 'x', optimizer: { method: 'sam' } }).optimizer.rho).toBe(0.05);
    expect(resolveConfig({ model: 'resnet20', out: 'x', optimizer: { method: 'none' } }).optimizer.rho).toBe(0);
  });

  it("optimizer.perturbedDropout: default 'reuse', written into the resolved config; a config.json written without it resolves to it", () => {
    const c = resolveConfig({ model: 'wrn10_1_tiny', out: 'runs/x', dropout: 0.3 });
    expect(c.optimizer.perturbedDropout).toBe('reuse');
    // a saved config.json from before the field: every field but it, as the committed runs wrote them
    const { perturbedDropout: _, ...savedOptimizer } = c.optimizer;
    expect(resolveConfig({ ...c, optimizer: savedOptimizer })).toEqual(c);
    expect(resolveConfig({ model: 'wrn10_1_tiny', out: 'x', optimizer: { perturbedDropout: 'resample' } }).optimizer.perturbedDropout).toBe('resample');
    expect(() => resolveConfig({ model: 'wrn10_1_tiny', out: 'x', optimizer: { perturbedDropout: 'fresh' as never } }))
      .toThrow(/config\.optimizer\.perturbedDropout = "fresh" is invalid: expected one of "reuse", "resample"/);
  });

  it('rejects bad values naming field, value and valid range', () => {
    const bad: [object, RegExp][] = [
      [{ lr: 0 }, /config\.lr = 0 is invalid: expected a finite number > 0/],
      [{ lr: Number.NaN }, /config\.lr = null is invalid/],
      [{ epochs: 1.5 }, /config\.epochs = 1\.5 is invalid: expected an integer >= 1/],
      [{ batchSize: 0 }, /config\.batchSize = 0 .*>= 1/],
      [{ momentum: 1 }, /config\.momentum = 1 .*< 1/],
      [{ dataset: 'mnist' }, /config\.dataset = "mnist" is invalid: expected one of "cifar10", "cifar100", "imagenet"/],
      [{ optimizer: { method: 'adam' } }, /config\.optimizer\.method = "adam" .*"none", "sam", "asam"/],
      [{ optimizer: { rho: -0.1 } }, /config\.optimizer\.rho = -0\.1 .*>= 0/],
      [{ optimizer: { method: 'none', rho: 0.1 } }, /config\.optimizer\.rho = 0\.1 .*0 when optimizer\.method is "none"/],
      [{ optimizer: { rhoo: 1 } }, /config\.optimizer\.rhoo .*no such field; valid fields: method, rho/],
      [{ labelNoise: { rate: 1.2, kind: 'symmetric' } }, /config\.labelNoise\.rate = 1\.2 .*< 1/],
      [{ labelNoise: { rate: 0.2, kind: 'random' } }, /config\.labelNoise\.kind = "random"/],
      [{ trainLimit: -5 }, /config\.trainLimit = -5 .*>= 1 \(or null\)/],
      [{ microBatch: 0 }, /config\.microBatch = 0 .*an integer >= 1 \(or null\)/],
      [{ microBatch: 2.5 }, /config\.microBatch = 2\.5 .*an integer/],
      [{ workers: 0 }, /config\.workers = 0 .*an integer >= 1 <= 64/],
      [{ workers: 2, microBatch: 16 }, /config\.microBatch = 16 .*null when workers > 1/],
      [{ workers: 4, batchSize: 2 }, /config\.workers = 4 .*at most batchSize \(2\)/],
      [{ cutout: 8, augment: 'none' }, /config\.cutout = 8 .*unless augment is "cifar"/],
      [{ epoch: 3 }, /config\.epoch = 3 .*no such field; valid fields: model, dataset/],
      [{ model: 'ResNet20' }, /config\.model = "ResNet20"/],
    ];
    for (const [patch, re] of bad) {
      expect(() => resolveConfig({ model: 'resnet20', out: 'x', ...patch } as never), JSON.stringify(patch)).toThrow(re);
      expect(() => resolveConfig({ model: 'resnet20', out: 'x', ...patch } as never)).toThrow(TrainConfigError);
    }
  });
});

describe('resolveConfig: ImageNet fields and recipe', () => {
  it('dataset imagenet switches the defaults to the ImageNet recipe; CIFAR keeps its own', () => {
    const c = resolveConfig({ model: 'resnet50', out: 'x', dataset: 'imagenet' });
    expect(c).toMatchObject({
      epochs: 100, batchSize: 512, lr: 0.2, schedule: 'cosine', momentum: 0.9, labelSmoothing: 0.1, augment: 'imagenet',
      imageSize: 224, imagenetFolder: 'imagenet', evalSplit: 'val', optimizer: { method: 'asam', rho: 1.0, weightDecay: 1e-4 },
    });
    expect(resolveConfig({ model: 'resnet50', out: 'x', dataset: 'imagenet', optimizer: { method: 'sam' } }).optimizer.rho).toBe(0.1);
    expect(resolveConfig({ model: 'resnet50', out: 'x', dataset: 'imagenet', optimizer: { method: 'none' } }).optimizer.rho).toBe(0);
    // explicit values win over the recipe
    const d = resolveConfig({ model: 'resnet10_tiny', out: 'x', dataset: 'imagenet', imageSize: 64, imagenetFolder: 'imagenet-samples', evalSplit: 'train', lr: 0.05, augment: 'none' });
    expect(d).toMatchObject({ imageSize: 64, imagenetFolder: 'imagenet-samples', evalSplit: 'train', lr: 0.05, augment: 'none' });
    const cifar = resolveConfig({ model: 'resnet20', out: 'x' });
    expect(cifar).toMatchObject({ imageSize: null, evalSplit: 'val', augment: 'cifar', epochs: 200, optimizer: { weightDecay: 5e-4 } });
  });

  it('rejects bad ImageNet fields naming field, value and valid range', () => {
    const inet = { model: 'resnet10_tiny', out: 'x', dataset: 'imagenet' as const };
    const bad: [object, RegExp][] = [
      [{ ...inet, imageSize: 4 }, /config\.imageSize = 4 is invalid: expected an integer >= 8 <= 1024/],
      [{ ...inet, imageSize: 64.5 }, /config\.imageSize = 64\.5 .*an integer/],
      [{ ...inet, imageSize: null }, /config\.imageSize = null .*an integer >= 8/],
      [{ ...inet, evalSplit: 'test' }, /config\.evalSplit = "test" .*one of "val", "train"/],
      [{ ...inet, imagenetFolder: '' }, /config\.imagenetFolder = "" .*non-empty folder name/],
      [{ ...inet, augment: 'cifar' }, /config\.augment = "cifar" .*"imagenet" \(random-resized-crop \+ flip\) or "none" for dataset "imagenet"/],
      [{ model: 'resnet20', out: 'x', augment: 'imagenet' }, /config\.augment = "imagenet" .*"cifar" or "none" for dataset "cifar10"/],
      [{ model: 'resnet20', out: 'x', imageSize: 64 }, /config\.imageSize = 64 .*null for dataset "cifar10"/],
      [{ model: 'resnet20', out: 'x', dataset: 'cifar100', evalSplit: 'train' }, /config\.evalSplit = "train" .*"val" for dataset "cifar100"/],
    ];
    for (const [c, re] of bad) {
      expect(() => resolveConfig(c as never), JSON.stringify(c)).toThrow(re);
      expect(() => resolveConfig(c as never)).toThrow(TrainConfigError);
    }
  });

  it('a config.json written before the ImageNet fields existed still resolves (resume of older runs)', () => {
    const full = resolveConfig({ model: 'resnet20', out: 'x' }) as unknown as Record<string, unknown>;
    const { imagenetFolder: _a, imageSize: _b, evalSplit: _c, ...old } = full;
    expect(resolveConfig(old as never)).toEqual(full);
  });
});

describe('explainStepError', () => {
  it('turns a wasm abort into advice naming microBatch; other errors pass through unchanged', async () => {
    const { explainStepError } = await import('./trainer.ts');
    const cfg = resolveConfig({ model: 'resnet20', out: '/tmp/run-x' });
    const e = explainStepError(new Error('RuntimeError: Aborted(). Build with -sASSERTIONS for more info.'), cfg, 512);
    expect(e.message).toMatch(/batch of 512 images \(resnet20\) ran out of backend memory/);
    expect(e.message).toMatch(/set microBatch \(e\.g\. 128, CLI --micro-batch 128\)/);
    expect(e.message).toMatch(/last checkpoint in \/tmp\/run-x is unchanged/);
    const other = new Error('boom');
    expect(explainStepError(other, cfg, 8)).toBe(other);
  });
});
