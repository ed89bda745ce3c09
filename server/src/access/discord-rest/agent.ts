/**
 * The discord-rest agent's bus side: consumes `rest.request` and `social.command.post` for its
 * (provider, tenant), performs them through the one shared `REST` instance, and answers
 * `rest.response` with `corr` = the request's `corr` (or its id when it has none). Retries with the
 * same corr or idempotency key are answered from the first result ({@link RetryCache}).
 */
import { createHash } from 'node:crypto';
import { RESTEvents } from '@discordjs/rest';
import type { REST } from '@discordjs/rest';
import { PostMessage, PrometheanError, RestRequest, topic } from '@promethean/shared';
import type { Envelope, RestResponse } from '@promethean/shared';
import type { AgentRuntime } from '@promethean/shared/node';
import { RetryCache } from './dedupe.ts';
import type { RetryCacheOptions } from './dedupe.ts';
import { performRest } from './perform.ts';
import { postMessageRequest, withNonce } from './post-message.ts';

export interface DiscordRestAgentOptions {
  provider: string;
  tenant: string;
  /** Retry cache bounds. */
  cache: Partial<RetryCacheOptions>;
}

function issue(error: { issues: { path: PropertyKey[]; message: string }[] }, what: string): PrometheanError {
  const i = error.issues[0]!;
  const path = i.path.map(String).join('.');
  return new PrometheanError('schema', `${what}: ${path ? `${path}: ` : ''}${i.message}`, { path });
}

/** The default idempotency key of a write: method, url and a hash of its body (seeds: `(method, url, body_hash)`). */
function bodyKey(req: RestRequest): string {
  return `auto:${req.method} ${req.url} ${createHash('sha256').update(JSON.stringify(req.body ?? null)).digest('hex')}`;
}

export class DiscordRestAgent {
  readonly cache: RetryCache;
  readonly options: DiscordRestAgentOptions;
  /** 429 answers Discord gave the REST instance, per bucket hash. */
  readonly received429 = new Map<string, number>();
  readonly #runtime: AgentRuntime;
  readonly #rest: REST;
  readonly #on429 = (_request: unknown, response: { status: number; headers: { get(name: string): string | null } }) => {
    if (response.status !== 429) return;
    const bucket = response.headers.get('x-ratelimit-bucket') ?? (response.headers.get('x-ratelimit-global') ? 'global' : 'unknown');
    this.received429.set(bucket, (this.received429.get(bucket) ?? 0) + 1);
    this.#runtime.count('rest.http_429');
  };

  constructor(runtime: AgentRuntime, rest: REST, options: Partial<DiscordRestAgentOptions> & Pick<DiscordRestAgentOptions, 'tenant'>) {
    this.options = { provider: 'discord', cache: {}, ...options };
    this.#runtime = runtime;
    this.#rest = rest;
    this.cache = new RetryCache(this.options.cache);
  }

  start(): void {
    const { provider, tenant } = this.options;
    this.#rest.on(RESTEvents.Response, this.#on429);
    this.#runtime.subscribe(topic(provider, tenant, 'rest.request'), (env) => this.#onRequest(env));
    this.#runtime.subscribe(topic(provider, tenant, 'social.command.post'), (env) => this.#onPost(env));
  }

  stop(): void {
    this.#rest.off(RESTEvents.Response, this.#on429);
  }

  async #onRequest(env: Envelope): Promise<void> {
    const r = RestRequest.safeParse(env.payload);
    if (!r.success) {
      this.#runtime.count('rest.bad_input');
      throw issue(r.error, 'rest.request');
    }
    const req = r.data;
    const corr = env.corr ?? env.id;
    const keys = [`corr:${corr}`, ...(req.idempotency_key ? [`idem:${req.idempotency_key}`] : req.method !== 'GET' ? [bodyKey(req)] : [])];
    await this.#answer(env, corr, keys, withNonce(req, req.idempotency_key ?? corr));
  }

  async #onPost(env: Envelope): Promise<void> {
    const r = PostMessage.safeParse(env.payload);
    if (!r.success) {
      this.#runtime.count('rest.bad_input');
      throw issue(r.error, 'social.command.post');
    }
    if (r.data.provider !== this.options.provider || r.data.tenant !== this.options.tenant) {
      this.#runtime.count('rest.bad_input');
      throw new PrometheanError('forbidden', `social.command.post for ${r.data.provider}/${r.data.tenant} reached ${this.options.provider}/${this.options.tenant}`, { path: 'tenant' });
    }
    const corr = env.corr ?? env.id;
    const req = postMessageRequest(r.data, corr, this.options.provider, this.options.tenant);
    this.#runtime.count('rest.posts');
    await this.#answer(env, corr, [`corr:${corr}`, `idem:${req.idempotency_key!}`], req);
  }

  async #answer(env: Envelope, corr: string, keys: string[], req: RestRequest): Promise<void> {
    this.#runtime.count('rest.requests');
    let response: RestResponse;
    const hit = this.cache.find(keys);
    if (hit) {
      this.#runtime.count('rest.deduped');
      response = await hit;
    } else {
      try {
        response = await this.cache.run(keys, () => performRest(this.#rest, req));
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        this.#runtime.count('rest.overloaded');
        response = { status: 0, ok: false, bucket: null, retry_after_ms: 1000, global: false, error: error.message };
      }
    }
    if (!response.ok) this.#runtime.count(`rest.status_${response.status}`);
    this.#runtime.publish('rest.response', { ...response, tenant: this.options.tenant }, { provider: this.options.provider, tenant: this.options.tenant, corr, ...(env.trace ? { trace: env.trace } : {}) });
  }
}
