/** The isomorphic bus client. */
export * from './client.ts';
export * from './options.ts';
export { TypedEmitter, type EventMap } from './emitter.ts';
