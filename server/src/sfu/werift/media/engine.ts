/**
 * Everything the werift media process holds: the ingest, routers (id → their producers and
 * listeners), producers and listeners. It answers the requests of {@link RequestMap}; ids are chosen
 * by the caller's process, which also keeps the authoritative lifecycle (this side only frees what it
 * is told to and reports connection states).
 */
import type { RTCPeerConnectionConfig } from 'werift';
import { IdInUseError, InvalidStateError, SsrcInUseError } from '../../errors.ts';
import type { SfuOptions } from '../../options.ts';
import type { SfuIngestStats, SfuOffer, SfuProducerStats } from '../../types.ts';
import type { NotificationEvent, NotificationMap, RequestMap, RequestMethod } from '../protocol.ts';
import { RtpIngest } from './ingest.ts';
import { ListenerPeer } from './listener-peer.ts';
import { listenerPeerConfig } from './peer-config.ts';
import { ProducerSource } from './producer-source.ts';

interface RouterState {
  producers: Set<ProducerSource>;
  listeners: Set<ListenerPeer>;
}

export type Notify = <E extends NotificationEvent>(event: E, data: NotificationMap[E]) => void;

type Handlers = { [M in RequestMethod]: (params: RequestMap[M]['params']) => Promise<RequestMap[M]['result']> | RequestMap[M]['result'] };

export class MediaEngine {
  readonly ingest = new RtpIngest();
  readonly #notify: Notify;
  readonly #routers = new Map<string, RouterState>();
  readonly #producers = new Map<string, ProducerSource>();
  readonly #listeners = new Map<string, ListenerPeer>();
  #options: SfuOptions | undefined;
  #peerConfig: RTCPeerConnectionConfig | undefined;
  #closed = false;

  constructor(notify: Notify) {
    this.#notify = notify;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs one request. Throws typed errors; the caller sends them back. */
  handle<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
    const handler = this.#handlers[method] as ((p: RequestMap[M]['params']) => Promise<RequestMap[M]['result']> | RequestMap[M]['result']) | undefined;
    if (!handler) return Promise.reject(new InvalidStateError(`unknown request ${String(method)}`));
    try {
      return Promise.resolve(handler(params));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Closes every listener and the ingest. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing = [...this.#listeners.values()].map((l) => l.close());
    for (const p of this.#producers.values()) p.close();
    this.#listeners.clear();
    this.#producers.clear();
    this.#routers.clear();
    this.ingest.close();
    await Promise.allSettled(closing);
  }

  readonly #handlers: Handlers = {
    'sfu.init': async ({ options }) => {
      if (this.#options) throw new InvalidStateError('already initialised');
      this.#options = options;
      this.#peerConfig = listenerPeerConfig(options);
      const ingestPort = await this.ingest.bind(options.listenIp, options.ingestPort);
      return { ingestPort };
    },
    'sfu.close': async () => {
      await this.close();
      return null;
    },
    'sfu.stats': (): SfuIngestStats => ({ ...this.ingest.stats }),
    'router.create': ({ routerId }) => {
      this.#assertOpen();
      if (this.#routers.has(routerId)) throw new IdInUseError(`router ${routerId} exists`);
      this.#routers.set(routerId, { producers: new Set(), listeners: new Set() });
      return null;
    },
    'router.close': ({ routerId }) => {
      const router = this.#routers.get(routerId);
      if (!router) return null;
      this.#routers.delete(routerId);
      for (const listener of router.listeners) this.#closeListener(listener);
      for (const producer of router.producers) this.#closeProducer(producer);
      return null;
    },
    'producer.create': ({ routerId, producerId, userId, ssrc, payloadType }) => {
      const router = this.#router(routerId);
      if (this.#producers.has(producerId)) throw new IdInUseError(`producer ${producerId} exists`);
      const owner = this.ingest.owner(ssrc);
      if (owner) throw new SsrcInUseError(`ssrc ${ssrc} is already used by producer ${owner.id}`);
      const source = new ProducerSource({ id: producerId, routerId, userId, ssrc, payloadType });
      this.#producers.set(producerId, source);
      router.producers.add(source);
      this.ingest.add(source);
      return null;
    },
    'producer.close': ({ producerId }) => {
      const source = this.#producers.get(producerId);
      if (source) this.#closeProducer(source);
      return null;
    },
    'producer.stats': ({ producerId }): SfuProducerStats => {
      const source = this.#producers.get(producerId);
      if (!source) throw new InvalidStateError(`producer ${producerId} is closed`);
      return { ...source.stats };
    },
    'listener.create': ({ routerId, listenerId }) => {
      const router = this.#router(routerId);
      if (this.#listeners.has(listenerId)) throw new IdInUseError(`listener ${listenerId} exists`);
      const listener = new ListenerPeer(listenerId, routerId, {
        config: this.#peerConfig ?? {},
        announcedAddress: this.#options?.announcedAddress,
      });
      listener.onConnectionState = (state) => this.#notify('listener.connectionstatechange', { listenerId, state });
      this.#listeners.set(listenerId, listener);
      router.listeners.add(listener);
      return null;
    },
    'listener.setProducers': ({ listenerId, producerIds }): Promise<SfuOffer> => {
      const listener = this.#listener(listenerId);
      const router = this.#router(listener.routerId);
      const sources: ProducerSource[] = [];
      const skipped: string[] = [];
      for (const id of new Set(producerIds)) {
        const source = this.#producers.get(id);
        if (source && router.producers.has(source)) sources.push(source);
        else skipped.push(id);
      }
      return listener.setProducers(sources, skipped);
    },
    'listener.answer': async ({ listenerId, sdp }) => {
      await this.#listener(listenerId).answer(sdp);
      return null;
    },
    'listener.close': ({ listenerId }) => {
      const listener = this.#listeners.get(listenerId);
      if (listener) this.#closeListener(listener);
      return null;
    },
  };

  #closeProducer(source: ProducerSource): void {
    source.close();
    this.ingest.remove(source);
    this.#producers.delete(source.id);
    this.#routers.get(source.routerId)?.producers.delete(source);
  }

  #closeListener(listener: ListenerPeer): void {
    this.#listeners.delete(listener.id);
    this.#routers.get(listener.routerId)?.listeners.delete(listener);
    void listener.close().catch(() => undefined);
  }

  #router(routerId: string): RouterState {
    this.#assertOpen();
    const router = this.#routers.get(routerId);
    if (!router) throw new InvalidStateError(`router ${routerId} is closed`);
    return router;
  }

  #listener(listenerId: string): ListenerPeer {
    this.#assertOpen();
    const listener = this.#listeners.get(listenerId);
    if (!listener) throw new InvalidStateError(`listener ${listenerId} is closed`);
    return listener;
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the SFU is closed');
    if (!this.#options) throw new InvalidStateError('the SFU is not initialised');
  }
}
