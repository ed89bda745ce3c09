/**
 * The message indexer (seeds: discord-message-indexer / social-message-indexer): tokenless and
 * provider-agnostic. Live `events.SocialMessageCreated` are upserted by (provider, tenant, message id);
 * the raw `events.MESSAGE_UPDATE | MESSAGE_DELETE | MESSAGE_DELETE_BULK` apply edits and deletions;
 * `jobs.backfill.messages.enqueue` starts a history backfill (backfill.ts). Every tenant's topics are
 * subscribed with wildcards, so a tenant added to providers.yml needs no change here. A retention
 * period per (provider, tenant) deletes old messages on a timer.
 */
import { PrometheanError, socialPayloads, jobsPayloads, type Envelope } from '@promethean/shared';
import type { Store } from '../../store/index.ts';
import { BackfillRunner, type BackfillOptions } from './backfill.ts';
import { BusRestClient, type BusRestClientOptions, type RestClientRuntime } from './rest-client.ts';
import {
  MessageDeleteBulkEvent, MessageDeleteEvent, MessageUpdateEvent, ProviderMessage, fromProviderMessage, fromSocialMessage, parsePayload,
} from './normalize.ts';

/** What the worker needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface IndexerRuntime extends RestClientRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope) => void | Promise<void>): void;
  readonly counters: Record<string, number>;
}

export interface IndexerWorkerOptions {
  /** Retention in days per `provider/tenant`, with `*` as the default for the rest; absent = keep forever. */
  retentionDays: Record<string, number>;
  /** Seconds between retention sweeps. */
  retentionSweepS: number;
  /** Most (provider, tenant) pairs remembered for retention sweeps. */
  maxTenants: number;
  backfill: Partial<BackfillOptions>;
  rest: Partial<BusRestClientOptions>;
  /** Resume the jobs a previous process left running, at start. */
  resume: boolean;
}

export const defaultIndexerWorkerOptions: IndexerWorkerOptions = {
  retentionDays: {},
  retentionSweepS: 3600,
  maxTenants: 10_000,
  backfill: {},
  rest: {},
  resume: true,
};

const PREFIX = 'promethean.p.*.t.*.';

export class IndexerWorker {
  readonly options: IndexerWorkerOptions;
  readonly rest: BusRestClient;
  readonly backfill: BackfillRunner;
  readonly #store: Store;
  readonly #runtime: IndexerRuntime;
  readonly #tenants = new Map<string, { provider: string; tenant: string }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<number> | undefined;

  constructor(runtime: IndexerRuntime, store: Store, options: Partial<IndexerWorkerOptions> = {}) {
    this.options = { ...defaultIndexerWorkerOptions, ...options };
    for (const [k, d] of Object.entries(this.options.retentionDays)) {
      if (!(Number.isFinite(d) && d > 0)) throw new PrometheanError('bad_config', `retention of ${k}: must be a positive number of days`, { path: `retentionDays.${k}` });
      if (k !== '*') this.#remember(...(k.split('/') as [string, string]));
    }
    this.#runtime = runtime;
    this.#store = store;
    this.rest = new BusRestClient(runtime, this.options.rest);
    this.backfill = new BackfillRunner(store, this.rest, runtime, this.options.backfill);
  }

  /** Subscribes; resumes unfinished jobs (unless `resume` is false) and starts the retention timer. */
  async start(): Promise<void> {
    this.rest.start();
    this.#runtime.subscribe(`${PREFIX}events.SocialMessageCreated`, (env) => this.onMessageCreated(env));
    this.#runtime.subscribe(`${PREFIX}events.MESSAGE_UPDATE`, (env) => this.onMessageUpdate(env));
    this.#runtime.subscribe(`${PREFIX}events.MESSAGE_DELETE`, (env) => this.onMessageDelete(env));
    this.#runtime.subscribe(`${PREFIX}events.MESSAGE_DELETE_BULK`, (env) => this.onMessageDeleteBulk(env));
    this.#runtime.subscribe(`${PREFIX}jobs.backfill.messages.enqueue`, (env) => this.onEnqueue(env));
    if (Object.keys(this.options.retentionDays).length > 0) {
      this.#timer = setInterval(() => void this.sweepRetention().catch(() => this.#runtime.count('retention.failed')), this.options.retentionSweepS * 1000);
      this.#timer.unref();
    }
    if (this.options.resume) await this.backfill.resume();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.backfill.close();
    this.rest.close();
  }

  async onMessageCreated(env: Envelope): Promise<void> {
    const p = this.#payload(socialPayloads['events.SocialMessageCreated'], env);
    if (p.provider !== env.provider || p.tenant !== env.tenant) {
      throw this.#reject(env, new PrometheanError('schema', `payload.tenant: ${p.provider}/${p.tenant} differs from the envelope's ${env.provider}/${env.tenant}`, { path: 'payload.tenant' }));
    }
    let row;
    try {
      row = fromSocialMessage(p);
    } catch (err) {
      throw this.#reject(env, err as Error);
    }
    this.#remember(env.provider, env.tenant);
    const r = await this.#store.indexMessages([row]);
    this.#runtime.count(r.inserted ? 'live.inserted' : 'live.duplicates');
  }

  async onMessageUpdate(env: Envelope): Promise<void> {
    const u = this.#payload(MessageUpdateEvent, env);
    this.#remember(env.provider, env.tenant);
    if (u.content === undefined || !u.edited_timestamp) {
      this.#runtime.count('live.updates_without_content');
      return;
    }
    const key = { provider: env.provider, tenant: env.tenant, foreign_id: u.id };
    const r = await this.#store.editMessage({ ...key, content: u.content, edited_at: u.edited_timestamp });
    if (r === 'missing') {
      // An edit of a message we never saw: index it whole when the event carries the whole message.
      const full = ProviderMessage.safeParse(env.payload);
      if (full.success) await this.#store.indexMessages([fromProviderMessage(env.provider, env.tenant, full.data)]);
    }
    this.#runtime.count(`live.edits_${r}`);
  }

  async onMessageDelete(env: Envelope): Promise<void> {
    const d = this.#payload(MessageDeleteEvent, env);
    this.#remember(env.provider, env.tenant);
    const n = await this.#store.markMessagesDeleted({ provider: env.provider, tenant: env.tenant }, [d.id]);
    this.#runtime.count('live.deleted', n);
  }

  async onMessageDeleteBulk(env: Envelope): Promise<void> {
    const d = this.#payload(MessageDeleteBulkEvent, env);
    this.#remember(env.provider, env.tenant);
    const n = await this.#store.markMessagesDeleted({ provider: env.provider, tenant: env.tenant }, d.ids);
    this.#runtime.count('live.deleted', n);
  }

  async onEnqueue(env: Envelope): Promise<void> {
    const p = this.#payload(jobsPayloads['jobs.backfill.messages.enqueue'], env);
    this.#remember(env.provider, env.tenant);
    await this.backfill.enqueue(env.provider, env.tenant, p);
  }

  /** Deletes messages past each known tenant's retention; returns how many. One sweep at a time. */
  sweepRetention(now: Date = new Date()): Promise<number> {
    this.#sweeping ??= (async () => {
      let total = 0;
      try {
        for (const scope of this.#tenants.values()) {
          const days = this.options.retentionDays[`${scope.provider}/${scope.tenant}`] ?? this.options.retentionDays['*'];
          if (days === undefined) continue;
          const n = await this.#store.purgeMessagesBefore(scope, new Date(now.getTime() - days * 86_400_000));
          total += n;
          this.#runtime.count('retention.deleted', n);
        }
      } finally {
        this.#sweeping = undefined;
      }
      return total;
    })();
    return this.#sweeping;
  }

  #remember(provider: string, tenant: string): void {
    const k = `${provider}/${tenant}`;
    if (this.#tenants.has(k) || this.#tenants.size >= this.options.maxTenants) return;
    this.#tenants.set(k, { provider, tenant });
  }

  #payload<S extends Parameters<typeof parsePayload>[0]>(schema: S, env: Envelope): ReturnType<typeof parsePayload<S>> {
    try {
      return parsePayload(schema, env.payload, env.intent);
    } catch (err) {
      throw this.#reject(env, err as Error);
    }
  }

  /** Counts a refused envelope under its intent; the runtime turns the throw into an `error` envelope. */
  #reject(env: Envelope, err: Error): Error {
    this.#runtime.count(`rejected.${env.intent}`);
    return err;
  }
}
