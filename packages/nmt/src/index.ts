export {};
export * from './decode-types.ts';
export * from './decode-util.ts';
export * from './decode-greedy.ts';
export * from './beam-search.ts';
export * from './decode-table.ts';
export * from './bleu.ts';
export * from './tokenizer.ts';
export * from './tokenizer-proto.ts';
