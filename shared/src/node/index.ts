/** @promethean/shared/node — Node-only helpers (files, processes). Everything browser-safe is in `@promethean/shared`. */
export * from './providers.ts';
export * from './manifest.ts';
export * from './agent/index.ts';
export * from './process-main.ts';
