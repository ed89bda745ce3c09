/** @promethean/server */
export * from './hub/index.ts';
