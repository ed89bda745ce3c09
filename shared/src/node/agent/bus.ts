/** The part of a bus client an agent needs; the hub's BusClient satisfies it, and so can NATS. */
import type { BusClient } from '../../bus/client.ts';
import type { Envelope } from '../../envelope.ts';

export type BusHandler = (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>;

export interface AgentBus {
  publish(envelope: Envelope, attachments?: readonly Uint8Array[]): void;
  /** Returns a function that ends the subscription. */
  subscribe(pattern: string, handler: BusHandler): () => void;
  /** Frames waiting to be sent (for health's queue depth). */
  readonly queueDepth?: number;
  /** Bytes the connection has accepted but not yet written (a lagging hub makes it grow). */
  readonly bufferedBytes?: number;
  /** Sends an already encoded frame (see `BusClient.publishEncoded`); absent where the bus cannot. */
  publishEncoded?(frame: Uint8Array): void;
}

/** The hub's BusClient as an agent's bus; its send queue counts as the agent's queue depth. */
export function agentBusFrom(client: BusClient): AgentBus {
  return {
    publish: (env, attachments) => client.publish(env, attachments),
    subscribe: (pattern, handler) => client.subscribe(pattern, handler),
    get queueDepth() {
      return client.stats.queued;
    },
    get bufferedBytes() {
      return client.bufferedAmount;
    },
    publishEncoded: (frame) => client.publishEncoded(frame),
  };
}
