/** @promethean/server */
export * from './hub/index.ts';
export * from './workers/mixer/index.ts';
export * from './sfu/index.ts';
