/**
 * The caller's end of the request channel to the media process (shaped like mediasoup's Channel.ts):
 * each request gets an id and a pending entry, its response settles it; a request not answered in
 * time is rejected; closing the channel rejects everything pending. Notifications are delivered
 * after the responses that came before them have been handled (a response's continuation runs in a
 * microtask; notifications wait for the next macrotask), so an object created by a request exists by
 * the time its first notification arrives.
 */
import { InvalidStateError, SfuTimeoutError, fromWireError } from '../errors.ts';
import type { FromChild, NotificationEvent, NotificationMap, RequestMap, RequestMethod, ToChild } from './protocol.ts';

export interface ChannelOptions {
  /** How long a request may wait for its response, in ms. */
  requestTimeoutMs: number;
}

export const defaultChannelOptions: ChannelOptions = { requestTimeoutMs: 15_000 };

interface Pending {
  method: RequestMethod;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export type NotificationHandler = <E extends NotificationEvent>(event: E, data: NotificationMap[E]) => void;

export class Channel {
  readonly options: ChannelOptions;
  /** Receives every notification, in order. A throw is caught and passed to `onError`. */
  onNotification: NotificationHandler = () => undefined;
  /** Told about handler throws and messages that match no request. */
  onError: (error: unknown) => void = () => undefined;
  readonly #send: (message: ToChild) => void;
  readonly #pending = new Map<number, Pending>();
  readonly #queue: Array<{ event: NotificationEvent; data: unknown }> = [];
  #flushScheduled = false;
  #nextId = 1;
  #closedWith: Error | undefined;

  constructor(send: (message: ToChild) => void, options: Partial<ChannelOptions> = {}) {
    this.#send = send;
    this.options = { ...defaultChannelOptions, ...options };
  }

  get closed(): boolean {
    return this.#closedWith !== undefined;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const id = this.#nextId++;
    return new Promise<RequestMap[M]['result']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SfuTimeoutError(`${method} got no answer in ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.#pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject, timer });
      try {
        this.#send({ kind: 'request', id, method, params });
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new InvalidStateError(`cannot send ${method}: the media process is gone`, { cause: error }));
      }
    });
  }

  /** Hands the channel one message from the media process. */
  receive(message: FromChild): void {
    if (this.#closedWith) return;
    if (message.kind === 'response') {
      const pending = this.#pending.get(message.id);
      if (!pending) {
        this.onError(new Error(`response to unknown request ${message.id}`));
        return;
      }
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(fromWireError(message.error));
      return;
    }
    this.#queue.push({ event: message.event, data: message.data });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Rejects every pending request with `error` and drops notifications not yet delivered. Idempotent. */
  close(error: Error): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    this.#queue.length = 0;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue.splice(0);
    for (const { event, data } of batch) {
      if (this.#closedWith) return;
      try {
        this.onNotification(event, data as NotificationMap[typeof event]);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
