import { describe, expect, it } from 'vitest';
import { classifyFailure, parseProgressLine } from './classify.ts';
import { parseQueueUrl } from './redis.ts';

describe('failure classification', () => {
  it('kills and crashes are transient', () => {
    expect(classifyFailure({ code: null, signal: 'SIGKILL', taskError: null }).kind).toBe('transient');
    expect(classifyFailure({ code: 134, signal: null, taskError: null }).kind).toBe('transient');
    expect(classifyFailure({ code: 1, signal: null, taskError: null }).kind).toBe('transient');
  });
  it('a task error is deterministic unless it names a system error', () => {
    expect(classifyFailure({ code: 1, signal: null, taskError: "cannot resume: its config.json differs from this config (optimizer.rho: 0.05 → 0.1)" }).kind).toBe('deterministic');
    expect(classifyFailure({ code: 1, signal: null, taskError: 'unknown model "resnet21"; valid: resnet20, resnet56' }).kind).toBe('deterministic');
    expect(classifyFailure({ code: 1, signal: null, taskError: 'ENOSPC: no space left on device, write' }).kind).toBe('transient');
    expect(classifyFailure({ code: 1, signal: null, taskError: 'read ECONNRESET' }).kind).toBe('transient');
  });
});

describe('progress lines', () => {
  it('reads epoch and loss of vision and nmt lines', () => {
    expect(parseProgressLine('epoch 2/10 train step 3/4 (global 7/40) loss 1.2345 acc 50.0% lr 1.00e-1 10.0 img/s ETA 5s')).toEqual({ epoch: 2, epochs: 10, loss: 1.2345 });
    expect(parseProgressLine('epoch 3 update 120/300 loss 4.5000 lr 5.00e-4 900 tok/s ETA 20s')).toEqual({ epoch: 3, epochs: null, loss: 4.5 });
    expect(parseProgressLine('backend wasm (requested auto: ...)')).toEqual({ epoch: null, epochs: null, loss: null });
  });
});

describe('--queue URL', () => {
  it('parses host, port and database', () => {
    expect(parseQueueUrl('redis://10.0.0.5:6390/2')).toMatchObject({ host: '10.0.0.5', port: 6390, db: 2, display: 'redis://10.0.0.5:6390/2' });
    expect(parseQueueUrl('redis://queue-host')).toMatchObject({ host: 'queue-host', port: 6379, db: 0 });
  });
  it('refuses what it cannot use, naming the value and the form', () => {
    expect(() => parseQueueUrl('localhost:6379')).toThrow(/scheme "localhost" is not supported; expected redis:\/\/host:port\[\/db\]/);
    expect(() => parseQueueUrl('http://h:1')).toThrow(/scheme "http"/);
    expect(() => parseQueueUrl('redis://h:6379/x')).toThrow(/database "x" must be an integer 0-15/);
    expect(() => parseQueueUrl('not a url')).toThrow(/is not a URL/);
  });
});
