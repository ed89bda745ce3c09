export * from './bus.ts';
export * from './logger.ts';
export * from './percentiles.ts';
export * from './runtime.ts';
export * from './in-process-bus.ts';
