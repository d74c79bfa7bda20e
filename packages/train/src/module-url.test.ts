import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { siblingModule } from './module-url.ts';

describe('siblingModule', () => {
  it('takes the extension of the calling module: .ts from source, .js when built', () => {
    expect(siblingModule('./task-model', 'file:///p/src/train/trainer.ts').href).toBe('file:///p/src/train/task-model.ts');
    expect(siblingModule('./task-model', 'file:///p/dist/train/trainer.js').href).toBe('file:///p/dist/train/task-model.js');
    expect(siblingModule('../workers/w', 'file:///p/dist/a/b.mjs').href).toBe('file:///p/dist/workers/w.mjs');
  });
  it('refuses a relative path with an extension and a base that is no module file', () => {
    expect(() => siblingModule('./x.ts', 'file:///p/src/a.ts')).toThrow(/without its extension/);
    expect(() => siblingModule('./x', 'file:///p/src/')).toThrow(/pass import.meta.url/);
  });
  it('names an existing file when run from source', () => {
    expect(existsSync(siblingModule('./module-url', import.meta.url))).toBe(true);
  });
});
