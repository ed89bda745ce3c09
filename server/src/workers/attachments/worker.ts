/**
 * The attachment indexer (seeds: discord-attachment-indexer): tokenless. For each attachment of a live
 * `events.SocialMessageCreated` it fetches the bytes through the tenant's access agent's media path,
 * hashes them (sha-256), sniffs the content type from magic bytes, and records the attachment; one blob
 * row per distinct sha-256 (dedupe). Oversize attachments are recorded as such, not fetched in full.
 * Work is queued (bounded) and run with bounded concurrency.
 */
import { createHash } from 'node:crypto';
import { PrometheanError, parseUrn, socialPayloads, type Envelope, type PayloadOf } from '@promethean/shared';
import type { Store } from '../../store/index.ts';
import type { AttachmentFetcher } from './fetcher.ts';
import { sniffContentType } from './sniff.ts';

export interface AttachmentRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope) => void | Promise<void>): void;
  count(name: string, by?: number): void;
}

export interface AttachmentWorkerOptions {
  /** Largest attachment fetched, bytes (Discord's upload limit without boosts is 10 MiB). */
  maxBytes: number;
  /** Attachments fetched at once. */
  concurrency: number;
  /** Attachments waiting; more are dropped and counted. */
  maxQueued: number;
}

export const defaultAttachmentWorkerOptions: AttachmentWorkerOptions = { maxBytes: 10 * 1024 * 1024, concurrency: 2, maxQueued: 1000 };

interface Job {
  provider: string;
  tenant: string;
  messageId: string;
  channelId: string;
  attachment: PayloadOf<'events.SocialMessageCreated'>['attachments'][number];
}

export class AttachmentWorker {
  readonly options: AttachmentWorkerOptions;
  readonly #runtime: AttachmentRuntime;
  readonly #store: Store;
  readonly #fetcher: AttachmentFetcher;
  readonly #queue: Job[] = [];
  #active = 0;
  #closed = false;
  readonly #idle = new Set<() => void>();

  constructor(runtime: AttachmentRuntime, store: Store, fetcher: AttachmentFetcher, options: Partial<AttachmentWorkerOptions> = {}) {
    this.options = { ...defaultAttachmentWorkerOptions, ...options };
    this.#runtime = runtime;
    this.#store = store;
    this.#fetcher = fetcher;
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.events.SocialMessageCreated', (env) => this.onMessage(env));
  }

  stop(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  /** Resolves when nothing is queued or being fetched. */
  whenIdle(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.add(r));
  }

  onMessage(env: Envelope): void {
    const r = socialPayloads['events.SocialMessageCreated'].safeParse(env.payload);
    if (!r.success) {
      this.#runtime.count('rejected.events.SocialMessageCreated');
      const issue = r.error.issues[0];
      const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
      throw new PrometheanError('schema', `events.SocialMessageCreated ${path}: ${issue?.message ?? 'invalid'}`, { path });
    }
    const p = r.data;
    if (p.attachments.length === 0) return;
    if (p.provider !== env.provider || p.tenant !== env.tenant) {
      this.#runtime.count('rejected.events.SocialMessageCreated');
      throw new PrometheanError('schema', `payload.tenant: ${p.provider}/${p.tenant} differs from the envelope's ${env.provider}/${env.tenant}`, { path: 'payload.tenant' });
    }
    const messageId = parseUrn(p.message_id).id;
    const channelId = parseUrn(p.space_urn).id;
    for (const attachment of p.attachments) {
      if (this.#queue.length >= this.options.maxQueued) {
        this.#runtime.count('attachments.dropped_queue_full');
        continue;
      }
      this.#queue.push({ provider: env.provider, tenant: env.tenant, messageId, channelId, attachment });
    }
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#active < this.options.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#active++;
      void this.#index(job)
        .catch((err: unknown) => {
          this.#runtime.count('attachments.errors');
          void err;
        })
        .finally(() => {
          this.#active--;
          this.#pump();
          if (this.#active === 0 && this.#queue.length === 0) {
            for (const r of this.#idle) r();
            this.#idle.clear();
          }
        });
    }
  }

  async #index(job: Job): Promise<void> {
    const { provider, tenant, attachment: a } = job;
    const id = parseUrn(a.urn).id;
    const key = { provider, tenant, foreign_id: id };
    const known = await this.#store.getAttachment(key);
    if (known && known.status !== 'failed') {
      this.#runtime.count('attachments.known');
      return;
    }
    const base = {
      ...key, message_id: job.messageId, channel_id: job.channelId, filename: filenameOf(a.url),
      declared_type: a.content_type ?? null, declared_size: a.size ?? null,
    };
    if (a.size !== undefined && a.size > this.options.maxBytes) {
      await this.#store.putAttachment({ ...base, status: 'oversize', error: `declared ${a.size} bytes exceed the ${this.options.maxBytes}-byte cap` });
      this.#runtime.count('attachments.oversize');
      return;
    }
    const got = await this.#fetcher.fetch(provider, tenant, a.url, this.options.maxBytes);
    if (got.status !== 'ok') {
      await this.#store.putAttachment({ ...base, status: got.status, error: got.error.slice(0, 2000) });
      this.#runtime.count(`attachments.${got.status}`);
      return;
    }
    const sha256 = createHash('sha256').update(got.bytes).digest('hex');
    const r = await this.#store.putAttachment({ ...base, status: 'stored', sha256, size: got.bytes.byteLength, content_type: sniffContentType(got.bytes) });
    this.#runtime.count(r.blob === 'known' ? 'attachments.dedupe_hits' : 'attachments.stored');
    this.#runtime.count('attachments.bytes', got.bytes.byteLength);
  }
}

/** The file name of a CDN URL's path (`…/123/456/cat.png?ex=…` → `cat.png`). */
function filenameOf(url: string): string | null {
  try {
    const last = new URL(url).pathname.split('/').pop();
    return last ? decodeURIComponent(last).slice(0, 1024) : null;
  } catch {
    return null;
  }
}
