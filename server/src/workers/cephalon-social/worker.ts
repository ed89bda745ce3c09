/**
 * cephalon-social, the text brain (seeds: cephalon-social / cephalon-discord): tokenless and
 * provider-agnostic. For every `events.SocialMessageCreated` it decides whether the bot was addressed
 * (mention.ts) in a guild whose owner turned replies on (config.ts), then, one reply at a time: the
 * recent thread and related stored messages (history.ts) → a prompt (prompt.ts) → the LLM at
 * temperature 0 with a token cap → the output filter (filter.ts) → `social.command.post` replying to
 * the mention. The access agent turns that into a Discord reply with `allowed_mentions` none.
 * Bounded: a queue of mentions (oldest dropped), a cooldown per channel, remembered ids.
 */
import { PrometheanError, socialPayloads, type Envelope, type SocialMessageCreated } from '@promethean/shared';
import type { Llm } from '../../speech/types.ts';
import { BusRestClient, type BusRestClientOptions, type RestClientRuntime } from '../indexer/rest-client.ts';
import type { CephalonSocialPolicy, GuildPolicy } from './config.ts';
import { ChannelCooldown } from './cooldown.ts';
import { allowAllWatchRules, filterReply, type WatchRules } from './filter.ts';
import { RestThreadHistory, SeenMessages, type Recall, type ThreadSource } from './history.ts';
import { mentionOf, nameMatcher, readableText, viewOf, type MessageView } from './mention.ts';
import { buildPrompt, defaultMaxLineChars } from './prompt.ts';
import { BrainToggles } from '../../bot/toggles.ts';

/** What the worker needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface CephalonRuntime extends RestClientRuntime {
  readonly counters: Record<string, number>;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export interface LlmScope {
  provider: string;
  tenant: string;
  guildId: string;
}

export interface CephalonSocialOptions {
  /** The `social` section of cephalon.yml as lookups. */
  policy: CephalonSocialPolicy;
  /** The LLM for a tenant's guild (speech.yml's choice). */
  llmFor: (scope: LlmScope) => Llm;
  /** The guild's watch rules; the default allows every reply. */
  watch: WatchRules;
  /** Related stored messages; none when undefined (no embeddings). */
  recall: Recall | undefined;
  /** The recent thread; by default the tenant's REST agent, falling back to what this worker saw. */
  thread: ThreadSource | undefined;
  /** Ask the REST agent for the thread (default); false: only what this worker saw. */
  restHistory: boolean;
  /** Mentions waiting for the LLM; beyond it the oldest is dropped (`queue.dropped`). */
  maxQueued: number;
  /** Channels remembered by the cooldown and the seen-messages ring. */
  maxChannels: number;
  /** Mention ids remembered so a redelivered event gets no second reply. */
  maxRememberedIds: number;
  /** How long a failed bot-identity lookup is remembered before asking again, ms. */
  identityRetryMs: number;
  rest: Partial<BusRestClientOptions>;
  /** Clock for cooldowns (ms). */
  now: () => number;
}

export const defaultCephalonSocialOptions = {
  watch: allowAllWatchRules,
  recall: undefined,
  thread: undefined,
  restHistory: true,
  maxQueued: 32,
  maxChannels: 10_000,
  maxRememberedIds: 10_000,
  identityRetryMs: 60_000,
  rest: {},
  now: () => Date.now(),
} satisfies Partial<CephalonSocialOptions>;

interface Job {
  message: SocialMessageCreated;
  view: MessageView & { guildId: string };
  guild: GuildPolicy;
  botUserId: string | undefined;
}

const PREFIX = 'promethean.p.*.t.*.';
const MAX_TENANTS = 1000;

export class CephalonSocialWorker {
  readonly options: CephalonSocialOptions;
  readonly rest: BusRestClient;
  readonly seen: SeenMessages;
  /** The owners' console switches (`cephalon.toggles`); they win over cephalon.yml. */
  readonly toggles: BrainToggles;
  readonly #runtime: CephalonRuntime;
  readonly #thread: ThreadSource;
  readonly #cooldown: ChannelCooldown;
  readonly #queue: Job[] = [];
  readonly #handled = new Set<string>();
  readonly #identities = new Map<string, Promise<string | undefined>>();
  readonly #names = new Map<string, RegExp | undefined>();
  #pumping: Promise<void> | undefined;
  #stopped = false;

  constructor(runtime: CephalonRuntime, options: Partial<CephalonSocialOptions> & Pick<CephalonSocialOptions, 'policy' | 'llmFor'>) {
    this.options = { ...defaultCephalonSocialOptions, ...options };
    this.#runtime = runtime;
    this.rest = new BusRestClient(runtime, { maxPending: 64, ...this.options.rest });
    this.seen = new SeenMessages({ maxChannels: this.options.maxChannels });
    this.#thread = this.options.thread ?? (this.options.restHistory ? new RestThreadHistory(this.rest, this.seen, (n) => runtime.count(n)) : this.seen);
    this.#cooldown = new ChannelCooldown(this.options.maxChannels);
    this.toggles = new BrainToggles(runtime, 'social', 'cephalon-social');
  }

  start(): void {
    this.rest.start();
    this.#runtime.subscribe(`${PREFIX}events.SocialMessageCreated`, (env) => this.onMessageCreated(env));
    this.toggles.start();
  }

  /** Mentions waiting for the LLM (the one being answered not included). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves when the queue is empty and no reply is being made. */
  async idle(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  async onMessageCreated(env: Envelope): Promise<void> {
    const r = socialPayloads['events.SocialMessageCreated'].safeParse(env.payload);
    if (!r.success) {
      this.#runtime.count('rejected.events.SocialMessageCreated');
      const issue = r.error.issues[0];
      const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
      throw new PrometheanError('schema', `events.SocialMessageCreated ${path}: ${issue?.message ?? 'invalid'}`, { path });
    }
    const message = r.data;
    if (message.provider !== env.provider || message.tenant !== env.tenant) {
      this.#runtime.count('rejected.events.SocialMessageCreated');
      throw new PrometheanError('forbidden', `a ${message.provider}/${message.tenant} message on ${env.provider}/${env.tenant}'s topic`, { path: 'payload.tenant' });
    }
    let view: MessageView;
    try {
      view = viewOf(message);
    } catch (cause) {
      this.#runtime.count('rejected.events.SocialMessageCreated');
      throw new PrometheanError('schema', `events.SocialMessageCreated: ${(cause as Error).message}`, { cause });
    }
    this.seen.add(view);
    this.#runtime.count('messages.seen');
    if (view.author.bot) return;
    const botUserId = await this.#botUserId(view.provider, view.tenant);
    if (botUserId !== undefined && view.author.id === botUserId) return;
    const kind = mentionOf(view, botUserId, this.#nameMatcher(view.provider, view.tenant));
    if (!kind) return;
    this.#runtime.count('mentions');
    this.#runtime.count(`mentions.by_${kind}`);
    if (view.guildId === null) return this.#runtime.count('mentions.no_guild');
    const guild = this.options.policy.guild(view.provider, view.tenant, view.guildId, this.toggles.state(view.provider, view.tenant, view.guildId));
    if (!guild) return this.#runtime.count('mentions.guild_off');
    if (!guild.allowsChannel(view.channelId, view.parentId)) return this.#runtime.count('mentions.channel_off');
    if (this.#handled.has(message.message_id)) return this.#runtime.count('mentions.repeated');
    this.#handled.add(message.message_id);
    if (this.#handled.size > this.options.maxRememberedIds) this.#handled.delete(this.#handled.values().next().value as string);
    if (this.#stopped) return;
    const channelKey = `${view.provider}/${view.tenant}/${view.channelId}`;
    if (!this.#cooldown.tryTake(channelKey, this.options.now(), guild.settings.cooldownS)) return this.#runtime.count('mentions.cooldown');
    this.#queue.push({ message, view: { ...view, guildId: view.guildId }, guild, botUserId });
    this.#runtime.count('mentions.queued');
    if (this.#queue.length > this.options.maxQueued) {
      this.#queue.shift();
      this.#runtime.count('queue.dropped');
    }
    this.#kick();
  }

  /** Stops taking mentions, waits for the reply being made, and rejects pending REST requests. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    await this.idle();
    this.rest.close();
  }

  #nameMatcher(provider: string, tenant: string): RegExp | undefined {
    const key = `${provider}/${tenant}`;
    if (!this.#names.has(key)) {
      if (this.#names.size >= MAX_TENANTS) this.#names.delete(this.#names.keys().next().value as string);
      this.#names.set(key, nameMatcher(this.options.policy.tenant(provider, tenant).names));
    }
    return this.#names.get(key);
  }

  /** The bot's user id: from the config, else asked once of the tenant's REST agent (`GET /users/@me`). */
  #botUserId(provider: string, tenant: string): Promise<string | undefined> {
    const configured = this.options.policy.tenant(provider, tenant).botUserId;
    if (configured) return Promise.resolve(configured);
    const key = `${provider}/${tenant}`;
    const known = this.#identities.get(key);
    if (known) return known;
    const id = this.rest.request(provider, tenant, { method: 'GET', url: '/users/@me', timeout_ms: 10_000 }).then(
      (res) => {
        const user = res.data as { id?: unknown } | undefined;
        if (res.ok && typeof user?.id === 'string') {
          this.#runtime.count('identity.learnt');
          return user.id;
        }
        throw new PrometheanError('unavailable', `GET /users/@me answered ${res.status}`);
      },
    ).catch((error: unknown) => {
      // Without the id only configured names count as mentions; asked again after identityRetryMs.
      this.#runtime.count('identity.failed');
      this.#runtime.log.warn({ provider, tenant, err: (error as Error).message }, 'bot identity unknown');
      setTimeout(() => this.#identities.get(key) === id && this.#identities.delete(key), this.options.identityRetryMs).unref();
      return undefined;
    });
    if (this.#identities.size >= MAX_TENANTS) this.#identities.delete(this.#identities.keys().next().value as string);
    this.#identities.set(key, id);
    return id;
  }

  /**
   * Starts answering the queue unless that is under way. The first job leaves the queue at once, so
   * `maxQueued` counts only mentions that wait.
   */
  #kick(): void {
    if (this.#pumping || this.#stopped) return;
    const first = this.#queue.shift();
    if (first) this.#pumping = this.#pump(first);
  }

  async #pump(first: Job): Promise<void> {
    try {
      for (let job: Job | undefined = first; job && !this.#stopped; job = this.#queue.shift()) {
        try {
          await this.#reply(job);
        } catch (error) {
          this.#runtime.count('replies.failed');
          this.#runtime.log.warn({ message: job.message.message_id, err: (error as Error).message }, 'no reply');
        }
      }
    } finally {
      // Cleared in the same turn as the last look at the queue (always after the first await, so
      // after `#kick` stored the promise): a mention queued after this starts a new pump.
      this.#pumping = undefined;
    }
  }

  async #reply(job: Job): Promise<void> {
    const { view, guild, botUserId, message } = job;
    const s = guild.settings;
    const text = readableText(view.text, view.mentions, botUserId);
    const history = await this.#thread.recent(view, s.history, botUserId);
    let recalled: Awaited<ReturnType<Recall['nearest']>> = [];
    if (this.options.recall && s.recall > 0 && text.length > 0) {
      try {
        recalled = await this.options.recall.nearest({ provider: view.provider, tenant: view.tenant, guildId: view.guildId, text, k: s.recall });
        this.#runtime.count('recall.used');
      } catch {
        this.#runtime.count('recall.failed');
      }
    }
    const prompt = buildPrompt({
      systemPrompt: s.systemPrompt,
      history,
      recalled,
      mention: { id: view.messageId, author: view.author.name, fromBot: false, text },
      maxPromptChars: s.maxPromptChars,
      maxLineChars: defaultMaxLineChars,
    });
    const llm = this.options.llmFor({ provider: view.provider, tenant: view.tenant, guildId: view.guildId });
    const completion = await llm.complete({ messages: prompt, temperature: 0, maxTokens: s.maxTokens });
    this.#runtime.count('llm.completions');
    this.#runtime.count('llm.completion_tokens', completion.completionTokens);
    const filtered = await filterReply(
      { provider: view.provider, tenant: view.tenant, guildId: view.guildId, channelId: view.channelId, inReplyTo: view.messageId, text: completion.text },
      s.maxReplyChars,
      this.options.watch,
    );
    if (!filtered.ok) {
      this.#runtime.count(`replies.${filtered.reason}`);
      if (filtered.rule) this.#runtime.log.info({ message: message.message_id, rule: filtered.rule }, 'reply blocked by a watch rule');
      return;
    }
    if (filtered.capped) this.#runtime.count('replies.capped');
    if (this.#stopped) return;
    this.#runtime.publish(
      'social.command.post',
      {
        provider: view.provider,
        tenant: view.tenant,
        space_urn: message.space_urn,
        in_reply_to: message.message_id,
        text: filtered.text,
        attachments: [],
        // One reply per mention, even when this worker restarts and sees the mention again.
        nonce: `cephalon-social:${view.messageId}`.slice(0, 64),
      },
      { provider: view.provider, tenant: view.tenant },
    );
    this.#runtime.count('replies.posted');
  }
}
