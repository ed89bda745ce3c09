/**
 * A cephalon worker's view of the owners' brain switches: it subscribes to every tenant's
 * `cephalon.toggles`, asks the server for them once subscribed (`cephalon.toggles.query`), and keeps
 * the latest table per (provider, tenant). `state()` answers `true` / `false` where an owner set a
 * guild's switch from the console, `undefined` where nobody did (cephalon.yml decides then).
 * Bounded: at most `maxTenants` tables (the oldest forgotten) of at most 20,000 switches each (the
 * schema's cap).
 */
import { botPayloads, PrometheanError, type BrainName, type Envelope, type PayloadOf } from '@promethean/shared';

/** What it needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface TogglesRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope) => void | Promise<void>): void;
  publish(intent: 'cephalon.toggles.query', payload: PayloadOf<'cephalon.toggles.query'>, options: { provider: string; tenant: string }): unknown;
  count(name: string, by?: number): void;
}

export interface BrainTogglesOptions {
  /** Tables kept at most; beyond it the least recently updated is forgotten. */
  maxTenants: number;
}

export const defaultBrainTogglesOptions: BrainTogglesOptions = { maxTenants: 1000 };

export class BrainToggles {
  readonly options: BrainTogglesOptions;
  readonly brain: BrainName;
  readonly #runtime: TogglesRuntime;
  readonly #worker: string;
  /** `provider/tenant` → guild → enabled. */
  readonly #tables = new Map<string, Map<string, boolean>>();
  readonly #listeners = new Set<(provider: string, tenant: string) => void>();

  constructor(runtime: TogglesRuntime, brain: BrainName, worker: string, options: Partial<BrainTogglesOptions> = {}) {
    this.#runtime = runtime;
    this.brain = brain;
    this.#worker = worker;
    this.options = { ...defaultBrainTogglesOptions, ...options };
  }

  /** Subscribes, then asks the server for every table (its answer arrives on the subscription). */
  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.cephalon.toggles', (env) => this.apply(env));
    this.#runtime.publish('cephalon.toggles.query', { worker: this.#worker }, { provider: 'promethean', tenant: 'system' });
  }

  /** Replaces what is known of the envelope's tenant. A payload that fails its schema throws (a typed error envelope, counted). */
  apply(env: Envelope): void {
    const r = botPayloads['cephalon.toggles'].safeParse(env.payload);
    if (!r.success) {
      this.#runtime.count('toggles.rejected');
      const issue = r.error.issues[0];
      const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
      throw new PrometheanError('schema', `cephalon.toggles ${path}: ${issue?.message ?? 'invalid'}`, { path });
    }
    const table = new Map<string, boolean>();
    for (const t of r.data.toggles) if (t.brain === this.brain) table.set(t.guild_id, t.enabled);
    const key = `${env.provider}/${env.tenant}`;
    this.#tables.delete(key);
    if (this.#tables.size >= this.options.maxTenants) this.#tables.delete(this.#tables.keys().next().value!);
    this.#tables.set(key, table);
    this.#runtime.count('toggles.applied');
    for (const l of this.#listeners) {
      try {
        l(env.provider, env.tenant);
      } catch {
        this.#runtime.count('toggles.listener_errors');
      }
    }
  }

  /** What an owner set for this brain in a guild; undefined when nobody did. */
  state(provider: string, tenant: string, guildId: string): boolean | undefined {
    return this.#tables.get(`${provider}/${tenant}`)?.get(guildId);
  }

  /** Guilds (`provider/tenant/guild`) an owner turned on. */
  enabledGuilds(): string[] {
    const out: string[] = [];
    for (const [key, table] of this.#tables) for (const [guild, on] of table) if (on) out.push(`${key}/${guild}`);
    return out;
  }

  /** Called after every applied table (for a log line). */
  onChange(listener: (provider: string, tenant: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Says where the brain is on whenever a tenant's table changes what it says (an owner's console
   * switch wins over the file): one line per change through `log`, prefixed by `label`.
   */
  logChanges(label: string, log: (line: string) => void = (line) => console.error(line)): () => void {
    const said = new Map<string, string>();
    return this.onChange((provider, tenant) => {
      const on = this.enabledGuilds().filter((g) => g.startsWith(`${provider}/${tenant}/`)).join(', ');
      if (said.get(`${provider}/${tenant}`) === on) return;
      if (said.size >= 1000) said.clear();
      said.set(`${provider}/${tenant}`, on);
      log(`${label}: console switches of ${provider}/${tenant}: on in ${on || 'no guild'}`);
    });
  }
}
