/** @promethean/shared — runs in Node and in the browser. Node-only helpers live in `@promethean/shared/node`. */
export * from './errors.ts';
export * from './ids.ts';
export * from './topics.ts';
export * from './urn.ts';
export * from './envelope.ts';
export * from './envelope-shape.ts';
export * from './frame.ts';
export * from './schemas/index.ts';
export * from './policy.ts';
export * from './manifest.ts';
export * from './providers-registry.ts';
export * from './bus/index.ts';
export * from './embed/index.ts';
export * from './dsp/index.ts';
