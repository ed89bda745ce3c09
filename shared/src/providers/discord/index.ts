/**
 * @promethean/shared/providers/discord — Discord wire helpers for access agents (the voice bridge)
 * and the local stand-in. Node only because of `crypto.ts` (AES-GCM via node:crypto); the other
 * files are browser-safe.
 */
export * from './opcodes.ts';
export * from './rtp.ts';
export * from './crypto.ts';
export * from './discovery.ts';
