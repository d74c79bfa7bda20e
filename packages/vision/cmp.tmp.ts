import { readCheckpoint } from './src/train/checkpoint.ts';
const [a, b] = await Promise.all(process.argv.slice(2).map((p) => readCheckpoint(p + '/checkpoint.bin')));
const d = a!.tensors.filter((t, i) => !Buffer.from(t.data.buffer).equals(Buffer.from(b!.tensors[i]!.data.buffer))).map((t) => t.meta.name);
console.log('differ', d.length, d.slice(0, 4), JSON.stringify(a!.state).slice(0, 300));
