#!/usr/bin/env node
// The workspace's `asam`: runs the TypeScript source through tsx. The published package's bin is dist/bin.js.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin.ts');
