/**
 * What the caller's process and the werift media process say to each other over Node's IPC channel:
 * requests (answered once, by id), their responses, and notifications from the media process.
 */
import type { WireError } from '../errors.ts';
import type { SfuOptions } from '../options.ts';
import type { SfuConnectionState, SfuIngestStats, SfuOffer, SfuProducerStats } from '../types.ts';

/** Every request: its params and its result. */
export interface RequestMap {
  /** First request after spawn: binds the ingest. */
  'sfu.init': { params: { options: SfuOptions }; result: { ingestPort: number } };
  /** Closes everything; the process exits right after answering. */
  'sfu.close': { params: Record<string, never>; result: null };
  'sfu.stats': { params: Record<string, never>; result: SfuIngestStats };
  'router.create': { params: { routerId: string }; result: null };
  'router.close': { params: { routerId: string }; result: null };
  'producer.create': {
    params: { routerId: string; producerId: string; userId: string; ssrc: number; payloadType: number | null };
    result: null;
  };
  'producer.close': { params: { producerId: string }; result: null };
  'producer.stats': { params: { producerId: string }; result: SfuProducerStats };
  'listener.create': { params: { routerId: string; listenerId: string }; result: null };
  'listener.setProducers': { params: { listenerId: string; producerIds: string[] }; result: SfuOffer };
  'listener.answer': { params: { listenerId: string; sdp: string }; result: null };
  'listener.close': { params: { listenerId: string }; result: null };
}

export type RequestMethod = keyof RequestMap;

/** Every notification the media process sends. */
export interface NotificationMap {
  /** Sent once, when the process listens for requests (messages sent earlier could be lost). */
  'sfu.ready': { pid: number };
  'listener.connectionstatechange': { listenerId: string; state: SfuConnectionState };
}

export type NotificationEvent = keyof NotificationMap;

export type RequestMessage = { kind: 'request'; id: number; method: RequestMethod; params: unknown };
export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: WireError };
export type NotificationMessage = { kind: 'notification'; event: NotificationEvent; data: unknown };

/** Parent → child. */
export type ToChild = RequestMessage;
/** Child → parent. */
export type FromChild = ResponseMessage | NotificationMessage;
