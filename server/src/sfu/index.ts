/** The SFU: one interface, drivers behind it (werift now). Server code depends on the types; `app.ts` picks the driver. */
export type * from './types.ts';
export * from './errors.ts';
export * from './options.ts';
export { createWeriftSfu, WeriftSfu } from './werift/index.ts';
export { createMediasoupSfu, MediasoupSfu } from './mediasoup/index.ts';
