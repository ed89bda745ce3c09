/**
 * Requests over the bus to the tenant's REST access agent: publish `rest.request`, await the
 * `rest.response` whose `corr` is the request's envelope id (mediasoup's Channel pattern: id → pending
 * map, bounded, rejected on close). The worker never sees a token; the access agent adds it.
 */
import { InvalidStateError, PrometheanError, restPayloads, type Envelope, type KnownIntent, type PayloadOf } from '@promethean/shared';

export type RestRequestInput = Omit<PayloadOf<'rest.request'>, 'timeout_ms'> & { timeout_ms?: number };
export type RestResponseOut = PayloadOf<'rest.response'>;

/** Publishing and counting, as the agent runtime offers them (`AgentRuntime` satisfies it). */
export interface PublishingRuntime {
  publish<I extends string>(intent: I, payload: I extends KnownIntent ? PayloadOf<I> : unknown, options: { provider: string; tenant: string; corr?: string }): Envelope;
  count(name: string, by?: number): void;
}

/** What the client needs of the agent runtime. */
export interface RestClientRuntime extends PublishingRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope) => void | Promise<void>): void;
}

export interface BusRestClientOptions {
  /** Most requests awaiting a response at once; more are refused with `rate_limited`. */
  maxPending: number;
  /** Default `timeout_ms` of a request (queueing at the agent included). */
  timeoutMs: number;
  /** Extra wait beyond `timeout_ms` for the agent's own timeout answer to arrive. */
  graceMs: number;
}

export const defaultBusRestClientOptions: BusRestClientOptions = { maxPending: 256, timeoutMs: 30_000, graceMs: 5_000 };

interface Pending {
  resolve: (r: RestResponseOut) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class BusRestClient {
  readonly options: BusRestClientOptions;
  readonly #runtime: RestClientRuntime;
  readonly #pending = new Map<string, Pending>();
  #closed = false;

  constructor(runtime: RestClientRuntime, options: Partial<BusRestClientOptions> = {}) {
    this.options = { ...defaultBusRestClientOptions, ...options };
    this.#runtime = runtime;
  }

  /** Subscribes to every tenant's `rest.response`; answers to other workers' requests are ignored. */
  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.rest.response', (env) => this.#onResponse(env));
  }

  get pending(): number {
    return this.#pending.size;
  }

  request(provider: string, tenant: string, request: RestRequestInput): Promise<RestResponseOut> {
    if (this.#closed) return Promise.reject(new InvalidStateError('rest client is closed'));
    if (this.#pending.size >= this.options.maxPending) {
      this.#runtime.count('rest.refused_full');
      return Promise.reject(new PrometheanError('rate_limited', `${this.#pending.size} REST requests already pending`));
    }
    const payload = { ...request, timeout_ms: request.timeout_ms ?? this.options.timeoutMs };
    return new Promise<RestResponseOut>((resolve, reject) => {
      const env = this.#runtime.publish('rest.request', payload, { provider, tenant });
      const timer = setTimeout(() => {
        this.#pending.delete(env.id);
        this.#runtime.count('rest.timeouts');
        reject(new PrometheanError('timeout', `no rest.response for ${request.method} ${request.url} within ${payload.timeout_ms + this.options.graceMs} ms`));
      }, payload.timeout_ms + this.options.graceMs);
      this.#pending.set(env.id, { resolve, reject, timer });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new InvalidStateError('rest client closed while a request was pending'));
      this.#pending.delete(id);
    }
  }

  #onResponse(env: Envelope): void {
    const corr = env.corr;
    if (corr === undefined) return;
    const p = this.#pending.get(corr);
    if (!p) return;
    this.#pending.delete(corr);
    clearTimeout(p.timer);
    const parsed = restPayloads['rest.response'].safeParse(env.payload);
    if (!parsed.success) {
      this.#runtime.count('rest.bad_responses');
      const issue = parsed.error.issues[0];
      p.reject(new PrometheanError('schema', `rest.response payload.${(issue?.path ?? []).join('.')}: ${issue?.message ?? 'invalid'}`));
      return;
    }
    p.resolve(parsed.data);
  }
}
