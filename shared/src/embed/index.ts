/** Text embeddings: the `Embedder` interface, the model spec, the transformers.js-backed implementation, vector helpers. */
export * from './embedder.ts';
export * from './pooling.ts';
export * from './transformers-embedder.ts';
export * from './load.ts';
