/**
 * The rules in force for a guild: the config file's (fixed at start) plus the ones owners stored over
 * HTTP, compiled once and cached per guild until an edit invalidates them. A stored rule that no
 * longer compiles (written by an older version with other limits) is skipped and counted, never
 * thrown at the matcher.
 */
import type { ModerationRuleRow, Store } from '../store/index.ts';
import { guildKey, type GuildModeration, type ModerationSettings } from './config.ts';
import { compileRule, type CompiledRule, type RuleDefinition } from './rules.ts';

export interface RuleBookOptions {
  /** Guilds whose compiled rules are kept in memory (least recently used dropped first). */
  maxGuilds: number;
}

export const defaultRuleBookOptions: RuleBookOptions = { maxGuilds: 1024 };

export interface RuleBookCounters {
  /** Stored rules skipped because they do not compile. */
  badStoredRules: number;
  loads: number;
}

/** The store methods the rule book reads. */
export type RuleStore = Pick<Store, 'listModerationRules'>;

export function definitionOf(row: ModerationRuleRow): RuleDefinition {
  return {
    id: row.rule_id,
    kind: row.kind,
    pattern: row.pattern,
    enabled: row.enabled,
    ...(row.label !== null ? { label: row.label } : {}),
    ...(row.threshold !== null ? { threshold: row.threshold } : {}),
  };
}

export class RuleBook {
  readonly options: RuleBookOptions;
  readonly counters: RuleBookCounters = { badStoredRules: 0, loads: 0 };
  readonly #settings: ModerationSettings;
  readonly #store: RuleStore;
  readonly #cache = new Map<string, Promise<CompiledRule[]>>();

  constructor(settings: ModerationSettings, store: RuleStore, options: Partial<RuleBookOptions> = {}) {
    this.#settings = settings;
    this.#store = store;
    this.options = { ...defaultRuleBookOptions, ...options };
  }

  /** The config file's settings of a guild, if it has any. */
  guild(provider: string, tenant: string, guild: string): GuildModeration | undefined {
    return this.#settings.get(guildKey(provider, tenant, guild));
  }

  /** Whether the config file defines this rule (config rules are read-only over HTTP). */
  isConfigRule(provider: string, tenant: string, guild: string, ruleId: string): boolean {
    return this.guild(provider, tenant, guild)?.rules.some((r) => r.def.id === ruleId) ?? false;
  }

  /** Every rule of the guild, enabled or not: config rules first, then stored ones, by id. */
  rules(provider: string, tenant: string, guild: string): Promise<CompiledRule[]> {
    const key = guildKey(provider, tenant, guild);
    let p = this.#cache.get(key);
    if (p) {
      // Refresh its place: the map's order is the eviction order.
      this.#cache.delete(key);
      this.#cache.set(key, p);
      return p;
    }
    if (this.#cache.size >= this.options.maxGuilds) this.#cache.delete(this.#cache.keys().next().value!);
    p = this.#load(provider, tenant, guild);
    p.catch(() => this.#cache.delete(key));
    this.#cache.set(key, p);
    return p;
  }

  /** Drops a guild's compiled rules after an edit; the next `rules()` reads the store again. */
  invalidate(provider: string, tenant: string, guild: string): void {
    this.#cache.delete(guildKey(provider, tenant, guild));
  }

  async #load(provider: string, tenant: string, guild: string): Promise<CompiledRule[]> {
    this.counters.loads++;
    const fromConfig = this.guild(provider, tenant, guild)?.rules ?? [];
    const ids = new Set(fromConfig.map((r) => r.def.id));
    const rows = await this.#store.listModerationRules({ provider, tenant, guild_id: guild });
    const stored: CompiledRule[] = [];
    for (const row of rows) {
      if (ids.has(row.rule_id)) continue;
      try {
        stored.push(compileRule({ provider, tenant, guild_id: guild }, definitionOf(row), 'store'));
      } catch {
        this.counters.badStoredRules++;
      }
    }
    return [...fromConfig, ...stored];
  }
}
