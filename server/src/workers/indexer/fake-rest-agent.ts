/**
 * Test support: a FAKE of the discord-rest access agent, for the indexer's tests while they must not
 * depend on another package's process. It answers `rest.request` with `rest.response` (by `corr`) by
 * sending the request through @discordjs/rest to a Discord-compatible base (the stand-in), one REST
 * client per tenant. @discordjs/rest waits out 429s itself, so responses carry no `retry_after_ms`.
 */
import { DiscordAPIError, REST } from '@discordjs/rest';
import { makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
import type { AgentBus } from '@promethean/shared/node';

export interface FakeRestCall {
  provider: string;
  tenant: string;
  url: string;
}

export class FakeRestAgent {
  readonly calls: FakeRestCall[] = [];
  readonly #rests = new Map<string, REST>();
  readonly #bus: AgentBus;
  readonly #api: string;
  /** Answer the next `n` requests with this status instead of forwarding them. */
  failNext: { n: number; status: number; retry_after_ms?: number } | undefined;
  #unsubscribe: (() => void) | undefined;

  readonly #ignore: ReadonlySet<string>;

  /** `ignoreTenants`: tenants a real agent on the same hub answers for. */
  constructor(bus: AgentBus, api: string, ignoreTenants: readonly string[] = []) {
    this.#bus = bus;
    this.#api = api;
    this.#ignore = new Set(ignoreTenants);
  }

  start(): () => void {
    this.#unsubscribe = this.#bus.subscribe('promethean.p.*.t.*.rest.request', (env) => this.#onRequest(env));
    return this.#unsubscribe;
  }

  stop(): void {
    this.#unsubscribe?.();
    for (const r of this.#rests.values()) r.clearHashSweeper();
  }

  async #onRequest(env: Envelope): Promise<void> {
    if (this.#ignore.has(env.tenant)) return;
    const p = env.payload as PayloadOf<'rest.request'>;
    this.calls.push({ provider: env.provider, tenant: env.tenant, url: p.url });
    let answer: PayloadOf<'rest.response'>;
    if (this.failNext && this.failNext.n > 0) {
      this.failNext.n--;
      answer = { status: this.failNext.status, ok: false, bucket: null, retry_after_ms: this.failNext.retry_after_ms ?? 0, global: false, error: 'injected' };
    } else {
      const key = `${env.provider}/${env.tenant}`;
      let rest = this.#rests.get(key);
      if (!rest) {
        rest = new REST({ api: this.#api }).setToken(`fake-token-${env.tenant}`);
        this.#rests.set(key, rest);
      }
      const [path, query] = p.url.split('?') as [`/${string}`, string | undefined];
      try {
        const data = await rest.get(path, { query: new URLSearchParams(query ?? '') });
        answer = { status: 200, ok: true, bucket: null, retry_after_ms: 0, global: false, data };
      } catch (err) {
        const status = err instanceof DiscordAPIError ? err.status : 0;
        answer = { status, ok: false, bucket: null, retry_after_ms: 0, global: false, error: (err as Error).message };
      }
    }
    this.#bus.publish(makeEnvelope('rest.response', answer, { src: 'discord-rest', provider: env.provider, tenant: env.tenant, corr: env.id }));
  }
}
