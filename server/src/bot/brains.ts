/**
 * The brain switchboard (server process): owners turn cephalon-voice and cephalon-social on or off per
 * guild at run time. A change is written to the audit log first (`bot.brain.set`; if that fails the
 * change is refused), then stored (it survives a restart), then the tenant's whole switch table goes
 * out as `cephalon.toggles`, which the workers apply without a restart. The table also goes out at
 * start, every `republishMs`, and whenever a worker asks (`cephalon.toggles.query` under
 * promethean/system), so a worker that starts, or reconnects, after a change still learns it.
 */
import { makeEnvelope, PrometheanError, type BrainName, type Envelope, type PayloadOf } from '@promethean/shared';
import type { Principal } from '../hub/auth.ts';
import type { AuditInput, BrainSwitchQuery, BrainSwitchRow } from '../store/index.ts';
import { actorOf } from './audit.ts';

/** What the switchboard needs of the store (the Store satisfies it). */
export interface BrainStore {
  appendAudit(entry: AuditInput): Promise<unknown>;
  putBrainSwitch(input: { provider: string; tenant: string; guild_id: string; brain: BrainName; enabled: boolean; updated_by: string }): Promise<BrainSwitchRow>;
  listBrainSwitches(query?: BrainSwitchQuery): Promise<BrainSwitchRow[]>;
}

/** What it needs of the bus (the server's BusClient satisfies it). */
export interface BrainBus {
  publish(envelope: Envelope): unknown;
  subscribe(pattern: string, handler: (envelope: Envelope) => void): (() => void) & { ready?: Promise<void> };
}

export interface BrainSwitchboardOptions {
  /** How often every tenant's table is published again, ms (0 = only on changes, start and queries). */
  republishMs: number;
  /** Queries answered at most this often, ms (several workers starting at once get one answer). */
  minQueryIntervalMs: number;
  /** `src` of what it publishes. */
  src: string;
  log: (line: string) => void;
}

export const defaultBrainSwitchboardOptions: BrainSwitchboardOptions = { republishMs: 30_000, minQueryIntervalMs: 1000, src: 'server', log: () => undefined };

export const QUERY_TOPIC = 'promethean.p.promethean.t.system.cephalon.toggles.query';

export interface BrainChange {
  provider: string;
  guild_id: string;
  brain: BrainName;
  enabled: boolean;
}

export class BrainSwitchboard {
  readonly options: BrainSwitchboardOptions;
  readonly #store: BrainStore;
  readonly #bus: BrainBus;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: (() => void) | undefined;
  #lastAnswer = Number.NEGATIVE_INFINITY;
  #pendingAnswer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Counters: `published`, `queries`, `queries_coalesced`, `changes`, `publish_failed`. */
  readonly counters: Record<string, number> = {};

  constructor(store: BrainStore, bus: BrainBus, options: Partial<BrainSwitchboardOptions> = {}) {
    this.#store = store;
    this.#bus = bus;
    this.options = { ...defaultBrainSwitchboardOptions, ...options };
  }

  /** Answers queries, publishes every table once, and again every `republishMs`. Resolves once subscribed. */
  async start(): Promise<void> {
    const sub = this.#bus.subscribe(QUERY_TOPIC, () => this.#onQuery());
    this.#unsubscribe = sub;
    await sub.ready;
    await this.publishAll();
    if (this.options.republishMs > 0) {
      this.#timer = setInterval(() => void this.publishAll(), this.options.republishMs);
      this.#timer.unref();
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#pendingAnswer !== undefined) clearTimeout(this.#pendingAnswer);
    this.#unsubscribe?.();
  }

  /** The stored switches of a tenant (one guild's when given). */
  list(provider: string, tenant: string, guildId?: string): Promise<BrainSwitchRow[]> {
    return this.#store.listBrainSwitches({ provider, tenant, ...(guildId !== undefined ? { guild_id: guildId } : {}) });
  }

  /**
   * An owner's change: on record first, then stored, then announced. Rejects with `forbidden` for
   * anyone but an owner of the tenant (within its guild scope), `unavailable` when the audit row
   * cannot be written (nothing changes then).
   */
  async set(principal: Principal, change: BrainChange): Promise<BrainSwitchRow> {
    if (principal.role !== 'owner' || principal.tenant === null) throw new PrometheanError('forbidden', 'only an owner may turn a brain on or off');
    if (principal.guild !== undefined && principal.guild !== change.guild_id) throw new PrometheanError('forbidden', `this session is limited to guild ${principal.guild}`);
    const tenant = principal.tenant;
    const actor = actorOf(principal);
    try {
      await this.#store.appendAudit({
        provider: change.provider,
        tenant,
        guild_id: change.guild_id,
        channel_id: null,
        actor,
        action: 'bot.brain.set',
        detail: JSON.stringify({ brain: change.brain, enabled: change.enabled, role: principal.role, ...(principal.name ? { name: principal.name } : {}) }),
      });
    } catch (cause) {
      throw new PrometheanError('unavailable', 'the change could not be written to the audit log, so it was not made; check the store', { cause });
    }
    const row = await this.#store.putBrainSwitch({ provider: change.provider, tenant, guild_id: change.guild_id, brain: change.brain, enabled: change.enabled, updated_by: actor });
    this.counters.changes = (this.counters.changes ?? 0) + 1;
    await this.publishTenant(change.provider, tenant);
    return row;
  }

  /** Publishes one tenant's table. */
  async publishTenant(provider: string, tenant: string): Promise<void> {
    this.#publish(provider, tenant, await this.#store.listBrainSwitches({ provider, tenant }));
  }

  /** Publishes every tenant's table (one envelope per tenant that has switches). */
  async publishAll(): Promise<void> {
    let rows: BrainSwitchRow[];
    try {
      rows = await this.#store.listBrainSwitches();
    } catch (error) {
      this.counters.publish_failed = (this.counters.publish_failed ?? 0) + 1;
      this.options.log(`brains: could not read the switches: ${(error as Error).message}`);
      return;
    }
    const byTenant = new Map<string, BrainSwitchRow[]>();
    for (const r of rows) {
      const key = `${r.provider}/${r.tenant}`;
      let list = byTenant.get(key);
      if (!list) byTenant.set(key, (list = []));
      list.push(r);
    }
    for (const list of byTenant.values()) this.#publish(list[0]!.provider, list[0]!.tenant, list);
  }

  #onQuery(): void {
    this.counters.queries = (this.counters.queries ?? 0) + 1;
    if (this.#pendingAnswer !== undefined) {
      this.counters.queries_coalesced = (this.counters.queries_coalesced ?? 0) + 1;
      return;
    }
    // Several workers asking at once get one answer, sent no sooner than minQueryIntervalMs after the last.
    const wait = Math.max(0, this.#lastAnswer + this.options.minQueryIntervalMs - performance.now());
    this.#pendingAnswer = setTimeout(() => {
      this.#pendingAnswer = undefined;
      this.#lastAnswer = performance.now();
      void this.publishAll();
    }, wait);
    this.#pendingAnswer.unref();
  }

  #publish(provider: string, tenant: string, rows: readonly BrainSwitchRow[]): void {
    if (this.#closed) return;
    const payload: PayloadOf<'cephalon.toggles'> = {
      toggles: rows.map((r) => ({ guild_id: r.guild_id, brain: r.brain, enabled: r.enabled, updated_by: r.updated_by, updated_at: r.updated_at })),
    };
    try {
      this.#bus.publish(makeEnvelope('cephalon.toggles', payload, { src: this.options.src, provider, tenant }));
      this.counters.published = (this.counters.published ?? 0) + 1;
    } catch (error) {
      this.counters.publish_failed = (this.counters.publish_failed ?? 0) + 1;
      this.options.log(`brains: could not announce the switches of ${provider}/${tenant}: ${(error as Error).message}`);
    }
  }
}
