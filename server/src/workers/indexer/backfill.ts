/**
 * History backfill (seeds: "job enqueue → indexer drives REST → same upsert path"). Each job pages
 * `GET /channels/{id}/messages?before=&limit=100` through the tenant's REST access agent, stores every
 * page through the same upsert as live messages, saves its cursor (`next_before`) after each page so a
 * restarted indexer resumes where it stopped, and reports `progress | done | error`. Jobs run with
 * bounded concurrency; between requests a job waits what the proxy's `retry_after_ms` says.
 */
import { randomUUID } from 'node:crypto';
import { PrometheanError, type PayloadOf } from '@promethean/shared';
import type { BackfillJobRow, IndexMessageInput, Store, UpsertResult } from '../../store/index.ts';
import type { BusRestClient, PublishingRuntime, RestResponseOut } from './rest-client.ts';
import { z } from 'zod';
import { NO_GUILD, ProviderMessage, fromProviderMessage } from './normalize.ts';

/** The fields of a channel object the backfill needs (`GET /channels/{id}`). */
const ChannelInfo = z.looseObject({ id: z.string().regex(/^[0-9]{1,20}$/), type: z.number().int(), guild_id: z.string().regex(/^[0-9]{1,20}$/).optional() });
/** Discord's thread channel types (announcement, public and private threads). */
const THREAD_TYPES = new Set([10, 11, 12]);

export interface BackfillOptions {
  /** Jobs running at once (across tenants); more wait in a queue. */
  maxConcurrentJobs: number;
  /** Jobs waiting beyond the running ones; more are refused with `rate_limited`. */
  maxQueuedJobs: number;
  /** Messages per page (Discord's maximum is 100). */
  pageSize: number;
  /** Attempts at one page after a network failure or a 5xx, before the job fails (retryable). */
  pageAttempts: number;
  /** First backoff after such a failure, doubled each time. */
  backoffMs: number;
  /** Longest wait honoured from one `retry_after_ms` (a longer one fails the job, retryable). */
  maxWaitMs: number;
  /** `timeout_ms` of each page request. */
  requestTimeoutMs: number;
  /**
   * Rows gathered across pages before they are written and the cursor saved (and `progress` sent); 0
   * writes every page at once. More means fewer, larger writes; the saved cursor is always where the
   * writes end, so a restarted (or failed) job fetches those rows again (writes are idempotent by id).
   */
  flushRows: number;
  /** Writes one batch; `store.indexMessages` when undefined (the server passes the bulk loader, store/bulk.ts). */
  write: ((rows: IndexMessageInput[]) => Promise<UpsertResult>) | undefined;
}

export const defaultBackfillOptions: BackfillOptions = {
  maxConcurrentJobs: 4,
  maxQueuedJobs: 1000,
  pageSize: 100,
  pageAttempts: 5,
  backoffMs: 250,
  maxWaitMs: 120_000,
  requestTimeoutMs: 30_000,
  flushRows: 0,
  write: undefined,
};

/** What the runner needs of the agent runtime. */
export type BackfillRuntime = PublishingRuntime;

type Enqueue = PayloadOf<'jobs.backfill.messages.enqueue'>;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const jobKey = (j: { provider: string; tenant: string; job_id: string }) => `${j.provider}\u0000${j.tenant}\u0000${j.job_id}`;

export class BackfillRunner {
  readonly options: BackfillOptions;
  readonly #store: Store;
  readonly #rest: BusRestClient;
  readonly #runtime: BackfillRuntime;
  /** Jobs queued or running in this process. */
  readonly #active = new Set<string>();
  readonly #queue: BackfillJobRow[] = [];
  #running = 0;
  readonly #abort = new AbortController();
  readonly #idle = new Set<() => void>();
  /** A job's run, for tests and close(). */
  readonly #runs = new Set<Promise<void>>();

  constructor(store: Store, rest: BusRestClient, runtime: BackfillRuntime, options: Partial<BackfillOptions> = {}) {
    this.options = { ...defaultBackfillOptions, ...options };
    this.#store = store;
    this.#rest = rest;
    this.#runtime = runtime;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Handles `jobs.backfill.messages.enqueue`: creates the job (a known id is not run twice). */
  async enqueue(provider: string, tenant: string, p: Enqueue): Promise<void> {
    if (this.#abort.signal.aborted) throw new PrometheanError('unavailable', 'the indexer is stopping');
    const key = jobKey({ provider, tenant, job_id: p.job_id });
    if (this.#active.has(key)) return;
    if (this.#queue.length >= this.options.maxQueuedJobs) {
      this.#runtime.count('backfill.refused_full');
      throw new PrometheanError('rate_limited', `${this.#queue.length} backfill jobs already queued`);
    }
    const { created, job } = await this.#store.createBackfillJob({
      provider, tenant, job_id: p.job_id, channel_id: p.channel_id, before: p.before ?? null, after: p.after ?? null, max_messages: p.limit,
    });
    if (created || job.status === 'running') {
      this.#runtime.count(created ? 'backfill.enqueued' : 'backfill.resumed');
      this.#schedule(job);
      return;
    }
    // A finished job's id: say how it ended again, run nothing.
    this.#runtime.count('backfill.known');
    this.#announceEnd(job);
  }

  /** Picks up the jobs a previous process left running (their cursors are in the store). */
  async resume(): Promise<number> {
    const jobs = await this.#store.listRunningBackfillJobs(this.options.maxQueuedJobs);
    let n = 0;
    for (const job of jobs) {
      if (this.#active.has(jobKey(job))) continue;
      this.#runtime.count('backfill.resumed');
      this.#schedule(job);
      n++;
    }
    return n;
  }

  /** Resolves when no job is queued or running. */
  whenIdle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Stops taking jobs, aborts waits, and waits for running pages to end; cursors stay in the store. */
  async close(): Promise<void> {
    this.#abort.abort();
    this.#queue.length = 0;
    await Promise.allSettled([...this.#runs]);
  }

  #schedule(job: BackfillJobRow): void {
    this.#active.add(jobKey(job));
    this.#queue.push(job);
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.options.maxConcurrentJobs && this.#queue.length > 0 && !this.#abort.signal.aborted) {
      const job = this.#queue.shift()!;
      this.#running++;
      const run = this.#run(job)
        .catch((err: unknown) => {
          this.#runtime.count('backfill.crashed');
          return this.#fail(job.provider, job.tenant, job, err);
        })
        .catch(() => undefined)
        .finally(() => {
          this.#running--;
          this.#active.delete(jobKey(job));
          this.#runs.delete(run);
          this.#pump();
          if (this.#running === 0 && this.#queue.length === 0) for (const r of this.#idle) r();
          if (this.#running === 0 && this.#queue.length === 0) this.#idle.clear();
        });
      this.#runs.add(run);
    }
  }

  async #run(job: BackfillJobRow): Promise<void> {
    const { provider, tenant } = job;
    const started = performance.now();
    const after = job.after === null ? null : BigInt(job.after);
    let before = job.next_before;
    let fetched = job.fetched;
    let duplicates = job.duplicates;
    let oldest = job.oldest_id;
    // History pages carry no guild_id (Discord's REST message objects lack it): ask the channel once.
    const channelRes = await this.#page(provider, tenant, `/channels/${job.channel_id}`);
    if (channelRes === undefined) return;
    const channel = ChannelInfo.safeParse(channelRes.data);
    if (!channel.success) throw new PrometheanError('schema', `GET /channels/${job.channel_id} answered no channel object`);
    const guildId = channel.data.guild_id ?? NO_GUILD;
    const threadId = THREAD_TYPES.has(channel.data.type) ? channel.data.id : null;
    let waitMs = channelRes.retry_after_ms;
    /** Rows fetched but not written yet; the saved cursor stays where the writes end. */
    let pending: IndexMessageInput[] = [];
    const write = this.options.write ?? ((rows: IndexMessageInput[]) => this.#store.indexMessages(rows));
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      const r = await write(batch);
      duplicates += batch.length - r.inserted;
      this.#runtime.count('backfill.messages', batch.length);
    };
    const finish = async (reason: 'exhausted' | 'limit' | 'after') => {
      await flush();
      await this.#store.updateBackfillJob({ provider, tenant, job_id: job.job_id, status: 'done', next_before: null, fetched, duplicates, oldest_id: oldest, reason });
      this.#runtime.count('backfill.done');
      this.#runtime.publish('jobs.backfill.messages.done', {
        job_id: job.job_id, channel_id: job.channel_id, fetched, duplicates, ...(oldest ? { oldest_id: oldest } : {}),
        duration_ms: performance.now() - started, reason,
      }, { provider, tenant });
    };
    const pageUrl = (cursor: string | null, limit: number) => `/channels/${job.channel_id}/messages?limit=${limit}${cursor ? `&before=${cursor}` : ''}`;
    /** A page request after the pacing wait; its failure is handled where it is awaited. */
    const request = (url: string, wait: number): Promise<RestResponseOut | undefined> => {
      const p = sleep(wait, this.#abort.signal).then(() => (this.#abort.signal.aborted ? undefined : this.#page(provider, tenant, url)));
      p.catch(() => undefined);
      return p;
    };
    /** The next page, requested while the current one is being stored (its cursor is known by then). */
    let prefetched: { url: string; response: Promise<RestResponseOut | undefined> } | undefined;
    for (;;) {
      if (this.#abort.signal.aborted) return;
      if (fetched >= job.max_messages) return finish('limit');
      const limit = Math.min(this.options.pageSize, job.max_messages - fetched);
      const url = pageUrl(before, limit);
      const res = await (prefetched?.url === url ? prefetched.response : request(url, waitMs));
      prefetched = undefined;
      if (res === undefined) return;
      waitMs = res.retry_after_ms;
      if (!Array.isArray(res.data)) throw new PrometheanError('schema', `GET ${url} answered ${typeof res.data}, not a list of messages`);
      const page: ProviderMessage[] = [];
      for (const item of res.data) {
        const m = ProviderMessage.safeParse(item);
        if (m.success) page.push(m.data);
        else this.#runtime.count('backfill.bad_messages');
      }
      if (res.data.length === 0) return finish('exhausted');
      let pageOldest: bigint | undefined;
      for (const item of res.data as { id?: unknown }[]) {
        if (typeof item?.id === 'string' && /^[0-9]{1,20}$/.test(item.id)) {
          const n = BigInt(item.id);
          if (pageOldest === undefined || n < pageOldest) pageOldest = n;
        }
      }
      let rows = page;
      let metAfter = false;
      if (after !== null) {
        rows = page.filter((m) => BigInt(m.id) > after);
        metAfter = rows.length < page.length;
      }
      rows = rows.slice(0, job.max_messages - fetched);
      const more = !metAfter && res.data.length >= limit && pageOldest !== undefined && fetched + rows.length < job.max_messages;
      if (more) {
        const next = pageUrl(pageOldest!.toString(), Math.min(this.options.pageSize, job.max_messages - fetched - rows.length));
        prefetched = { url: next, response: request(next, waitMs) };
      }
      if (rows.length > 0) {
        for (const m of rows) pending.push({ ...fromProviderMessage(provider, tenant, m), space_id: m.guild_id ?? guildId, thread_id: m.thread_id ?? threadId });
        fetched += rows.length;
        let o = oldest === null ? undefined : BigInt(oldest);
        for (const m of rows) if (o === undefined || BigInt(m.id) < o) o = BigInt(m.id);
        oldest = o === undefined ? null : o.toString();
      }
      if (pageOldest === undefined) throw new PrometheanError('schema', `GET ${url} answered messages without ids`);
      before = pageOldest.toString();
      if (metAfter) return finish('after');
      const exhausted = res.data.length < limit;
      if (exhausted) return finish('exhausted');
      if (pending.length < this.options.flushRows) continue;
      await flush();
      await this.#store.updateBackfillJob({ provider, tenant, job_id: job.job_id, status: 'running', next_before: before, fetched, duplicates, oldest_id: oldest });
      this.#runtime.publish('jobs.backfill.messages.progress', { job_id: job.job_id, channel_id: job.channel_id, fetched, next_before: before }, { provider, tenant });
    }
  }

  /** One page, waiting out 429s and retrying transient failures; undefined when closing. */
  async #page(provider: string, tenant: string, url: string): Promise<RestResponseOut | undefined> {
    let backoff = this.options.backoffMs;
    let failures = 0;
    for (let attempt = 0; ; attempt++) {
      if (this.#abort.signal.aborted) return undefined;
      let res: RestResponseOut;
      try {
        // Each attempt is a new request: the proxy answers a repeated idempotency key from its first result.
        res = await this.#rest.request(provider, tenant, { method: 'GET', url, timeout_ms: this.options.requestTimeoutMs, idempotency_key: `backfill:${randomUUID()}:${attempt}` });
      } catch (err) {
        if (this.#abort.signal.aborted) return undefined;
        if (!(err instanceof PrometheanError) || (err.code !== 'timeout' && err.code !== 'rate_limited')) throw err;
        res = { status: 0, ok: false, bucket: null, retry_after_ms: 0, global: false, error: err.message };
      }
      if (res.ok) return res;
      if (res.status === 429) {
        this.#runtime.count('backfill.rate_limited');
        if (res.retry_after_ms > this.options.maxWaitMs) throw new BackfillFailure(`GET ${url}: rate limited for ${res.retry_after_ms} ms`, 429, true);
        await sleep(Math.max(res.retry_after_ms, 1), this.#abort.signal);
        continue;
      }
      const transient = res.status === 0 || res.status === 408 || res.status >= 500;
      if (!transient) throw new BackfillFailure(`GET ${url}: ${res.status}${res.error ? ` ${res.error}` : ''}`, res.status, false);
      failures++;
      this.#runtime.count('backfill.transient_failures');
      if (failures >= this.options.pageAttempts) throw new BackfillFailure(`GET ${url}: ${res.status || 'no response'} after ${failures} attempts${res.error ? ` (${res.error})` : ''}`, res.status, true);
      await sleep(Math.max(backoff, res.retry_after_ms), this.#abort.signal);
      backoff *= 2;
    }
  }

  async #fail(provider: string, tenant: string, job: BackfillJobRow, err: unknown): Promise<void> {
    const e = err as Error;
    const status = err instanceof BackfillFailure ? err.status : undefined;
    const retryable = err instanceof BackfillFailure ? err.retryable : false;
    const stored = await this.#store.getBackfillJob({ provider, tenant, job_id: job.job_id }).catch(() => undefined);
    const fetched = stored?.fetched ?? job.fetched;
    await this.#store.updateBackfillJob({
      provider, tenant, job_id: job.job_id, status: 'error', next_before: stored?.next_before ?? job.next_before,
      fetched, duplicates: stored?.duplicates ?? job.duplicates, error: e.message.slice(0, 2000),
    }).catch(() => undefined);
    this.#runtime.count('backfill.failed');
    this.#runtime.publish('jobs.backfill.messages.error', {
      job_id: job.job_id, channel_id: job.channel_id, fetched, message: e.message.slice(0, 2000), ...(status !== undefined ? { status } : {}), retryable,
    }, { provider, tenant });
  }

  #announceEnd(job: BackfillJobRow): void {
    const { provider, tenant } = job;
    if (job.status === 'done') {
      this.#runtime.publish('jobs.backfill.messages.done', {
        job_id: job.job_id, channel_id: job.channel_id, fetched: job.fetched, duplicates: job.duplicates,
        ...(job.oldest_id ? { oldest_id: job.oldest_id } : {}), duration_ms: 0,
        reason: (job.reason as 'exhausted' | 'limit' | 'after' | null) ?? 'exhausted',
      }, { provider, tenant });
    } else {
      this.#runtime.publish('jobs.backfill.messages.error', {
        job_id: job.job_id, channel_id: job.channel_id, fetched: job.fetched, message: job.error ?? 'failed', retryable: false,
      }, { provider, tenant });
    }
  }
}

/** A page that failed for good: its HTTP status (0: no response) and whether enqueueing again may help. */
export class BackfillFailure extends PrometheanError {
  override name = 'BackfillFailure';
  readonly status: number;
  readonly retryable: boolean;
  constructor(message: string, status: number, retryable: boolean) {
    super(status === 429 ? 'rate_limited' : 'unavailable', message);
    this.status = status;
    this.retryable = retryable;
  }
}
