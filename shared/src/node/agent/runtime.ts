/**
 * The agent runtime every agent uses: subscribe and publish through the bus, the lifecycle
 * `INIT → RUNNING → DEGRADED|PAUSED → STOPPED`, a `health` envelope every N seconds, per-intent
 * latency percentiles, structured logs, and reproducibility fields on every output.
 */
import { EventEmitter } from 'node:events';
import { makeEnvelope, type Envelope } from '../../envelope.ts';
import { InvalidStateError, PrometheanError } from '../../errors.ts';
import type { KnownIntent, PayloadOf } from '../../schemas/index.ts';
import { expandAlternations } from '../../topics.ts';
import type { AgentBus, BusHandler } from './bus.ts';
import { createLogger, type Logger } from './logger.ts';
import { LatencyWindows } from './percentiles.ts';

export type AgentState = 'INIT' | 'RUNNING' | 'DEGRADED' | 'PAUSED' | 'STOPPED';

const TRANSITIONS: Record<AgentState, readonly AgentState[]> = {
  INIT: ['RUNNING', 'STOPPED'],
  RUNNING: ['DEGRADED', 'PAUSED', 'STOPPED'],
  DEGRADED: ['RUNNING', 'PAUSED', 'STOPPED'],
  PAUSED: ['RUNNING', 'DEGRADED', 'STOPPED'],
  STOPPED: [],
};

export interface AgentRuntimeOptions {
  /** Agent id (`discord-voice-access`, `mixer`). */
  id: string;
  /** Access agents hold provider secrets; workers do not. */
  kind: 'access' | 'worker' | 'hub' | 'cli' | 'supervisor';
  /** The bus this agent speaks through. */
  bus: AgentBus;
  /** Provider and tenant health envelopes are published under. */
  provider: string;
  tenant: string;
  /** Seconds between health envelopes. */
  healthIntervalS: number;
  /** Reproducibility fields stamped on every output. */
  buildSha: string;
  configRev: string;
  models: { name: string; version: string; checksum?: string }[];
  /** Extra depth to report in health (e.g. frames waiting in a jitter buffer). */
  queueDepth: () => number;
  /** pino level; `silent` in tests. */
  logLevel: string;
  /** A logger to use instead of creating one. */
  logger?: Logger;
}

export const defaultAgentRuntimeOptions = {
  provider: 'promethean',
  tenant: 'system',
  healthIntervalS: 5,
  buildSha: 'dev',
  configRev: 'default',
  models: [] as { name: string; version: string; checksum?: string }[],
  queueDepth: () => 0,
  logLevel: 'info',
} satisfies Partial<AgentRuntimeOptions>;

export interface PublishOptions {
  provider: string;
  tenant: string;
  corr?: string;
  trace?: string;
  attachments?: readonly Uint8Array[];
}

export interface AgentRuntimeEvents {
  stateChange: [from: AgentState, to: AgentState];
}

export class AgentRuntime extends EventEmitter<AgentRuntimeEvents> {
  readonly options: AgentRuntimeOptions;
  readonly log: Logger;
  readonly latency = new LatencyWindows();
  readonly counters: Record<string, number> = {};
  #state: AgentState = 'INIT';
  #reason: string | undefined;
  #unsubscribers: (() => void)[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #startedAt = performance.now();
  #cpu = process.cpuUsage();
  #cpuAt = performance.now();

  constructor(options: Partial<AgentRuntimeOptions> & Pick<AgentRuntimeOptions, 'id' | 'kind' | 'bus'>) {
    super();
    this.options = { ...defaultAgentRuntimeOptions, ...options };
    this.log = this.options.logger ?? createLogger({ agent: this.options.id, level: this.options.logLevel });
  }

  get state(): AgentState {
    return this.#state;
  }

  /** Moves to `next`; illegal transitions throw InvalidStateError. Emits `stateChange`. */
  setState(next: AgentState, reason?: string): void {
    const from = this.#state;
    if (from === next) {
      this.#reason = reason;
      return;
    }
    if (!TRANSITIONS[from].includes(next)) throw new InvalidStateError(`agent ${this.options.id}: ${from} → ${next} is not allowed`);
    this.#state = next;
    this.#reason = reason;
    this.log.info({ event: 'state', from, to: next, reason }, `state ${from} → ${next}`);
    this.emit('stateChange', from, next);
    if (next === 'STOPPED') this.#release();
  }

  /** Resolves when the agent reaches `target`, rejects after `timeoutMs`. */
  entersState(target: AgentState, timeoutMs: number): Promise<void> {
    if (this.#state === target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('stateChange', onChange);
        reject(new PrometheanError('invalid_state', `agent ${this.options.id} did not reach ${target} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onChange = (_from: AgentState, to: AgentState) => {
        if (to !== target) return;
        clearTimeout(timer);
        this.off('stateChange', onChange);
        resolve();
      };
      this.on('stateChange', onChange);
    });
  }

  start(): void {
    this.setState('RUNNING');
    this.#timer = setInterval(() => this.publishHealth(), this.options.healthIntervalS * 1000);
    this.#timer.unref();
    this.publishHealth();
  }

  stop(): void {
    if (this.#state === 'STOPPED') return;
    this.setState('STOPPED');
  }

  #release(): void {
    if (this.#timer) clearInterval(this.#timer);
    for (const u of this.#unsubscribers.splice(0)) u();
  }

  count(name: string, by = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + by;
  }

  /**
   * Subscribes to a pattern (alternations expanded). Each message is timed per intent and logged with
   * corr/trace/intent/latency_ms/outcome; a handler's throw becomes an `error` envelope, never a crash.
   */
  subscribe(pattern: string, handler: BusHandler): void {
    if (this.#state === 'STOPPED') throw new InvalidStateError(`agent ${this.options.id} is stopped`);
    for (const p of expandAlternations(pattern)) {
      this.#unsubscribers.push(this.options.bus.subscribe(p, (env, attachments) => this.#handle(env, attachments, handler)));
    }
  }

  async #handle(env: Envelope, attachments: Uint8Array[], handler: BusHandler): Promise<void> {
    if (this.#state === 'PAUSED' || this.#state === 'STOPPED') {
      this.count('skipped_while_paused');
      return;
    }
    const t0 = performance.now();
    let outcome = 'ok';
    try {
      await handler(env, attachments);
    } catch (error) {
      outcome = 'error';
      this.count(`errors.${env.intent}`);
      const e = error instanceof PrometheanError ? error : new PrometheanError('internal', (error as Error)?.message ?? String(error), { cause: error });
      this.log.warn({ corr: env.corr ?? env.id, trace: env.trace, intent: env.intent, outcome, code: e.code, err: e.message }, 'handler failed');
      this.publish('error', { code: e.code, message: e.message, path: e.path, ref_id: env.id, topic: env.dst, retryable: false }, {
        provider: env.provider,
        tenant: env.tenant,
        corr: env.corr ?? env.id,
        ...(env.trace ? { trace: env.trace } : {}),
      });
    } finally {
      const latency_ms = performance.now() - t0;
      this.latency.record(env.intent, latency_ms);
      this.count(`handled.${env.intent}`);
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ corr: env.corr ?? env.id, trace: env.trace, intent: env.intent, latency_ms, outcome }, 'handled');
      }
    }
  }

  /** Builds and publishes an envelope stamped with build_sha, models and config_rev. */
  publish<I extends string>(intent: I, payload: I extends KnownIntent ? PayloadOf<I> : unknown, options: PublishOptions): Envelope<I> {
    if (this.#state === 'STOPPED') throw new InvalidStateError(`agent ${this.options.id} is stopped`);
    const env = makeEnvelope(intent, payload, {
      src: this.options.id,
      provider: options.provider,
      tenant: options.tenant,
      build_sha: this.options.buildSha,
      config_rev: this.options.configRev,
      models: this.options.models,
      ...(options.corr ? { corr: options.corr } : {}),
      ...(options.trace ? { trace: options.trace } : {}),
    });
    this.options.bus.publish(env as Envelope, options.attachments);
    this.count(`published.${intent}`);
    return env;
  }

  /** The health payload right now (also what the timer publishes). */
  health(): PayloadOf<'health'> {
    const now = performance.now();
    const cpu = process.cpuUsage(this.#cpu);
    const wallUs = Math.max(1, (now - this.#cpuAt) * 1000);
    this.#cpu = process.cpuUsage();
    this.#cpuAt = now;
    const mem = process.memoryUsage();
    return {
      agent_id: this.options.id,
      kind: this.options.kind,
      state: this.#state,
      uptime_s: (now - this.#startedAt) / 1000,
      queue_depth: this.options.queueDepth() + (this.options.bus.queueDepth ?? 0),
      cpu_pct: Math.round(((cpu.user + cpu.system) / wallUs) * 1000) / 10,
      rss_mb: Math.round(mem.rss / 1048576),
      heap_mb: Math.round(mem.heapUsed / 1048576),
      latency_ms: this.latency.snapshot(),
      counters: { ...this.counters },
      ...(this.#reason ? { reason: this.#reason } : {}),
    };
  }

  publishHealth(): void {
    if (this.#state === 'STOPPED') return;
    try {
      this.publish('health', this.health(), { provider: this.options.provider, tenant: this.options.tenant });
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'health publish failed');
    }
  }
}
