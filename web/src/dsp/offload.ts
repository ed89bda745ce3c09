/**
 * This tab as a DSP runner of the offload scheduler (docs/dsp.md "Offload"): it advertises its
 * capacity (`dsp.capacity`, with a score measured here once), renews it by heartbeat
 * (`dsp.heartbeat`, with how far its VAD lags), follows `dsp.lease`, and publishes the VAD segments
 * of the streams it holds as `voice.audio.segment`, numbered from the lease's `next_index` with the
 * stream's id scheme (`<session>.<user>.<epoch_ms>.<index>`). It stops publishing a stream on
 * revoke and sends `dsp.leave` when the page goes away, so the server takes its streams back at
 * once. The hub lets a session publish a stream's segments only while it holds that stream's lease.
 *
 * Segment times must be on the bridge's clock (the STT worker cuts `voice.audio.pcm` by them): by
 * default the tab offers capacity only while its session clock runs on relay anchors
 * (`voice.relay.anchor`, see docs/dsp.md "The browser's session clock"), and publishes only segments
 * stamped on that clock (`clock: 'relay'`); others are counted (`unclocked`) and kept to the tab.
 */
import { makeEnvelope, Resampler, SileroFramer, type PayloadOf } from '@promethean/shared';
import type { BusConnection, BusEnvelope } from '../net/bus.ts';
import type { CaptureStats } from '../replay/protocol.ts';
import type { BrowserSegment } from './analysis-protocol.ts';

export interface DspRunnerOptions {
  /** How often the lease is renewed (the server's lease is 6 s). */
  heartbeatMs: number;
  /** Reported backend and threads (the console's VAD: onnxruntime-web WASM, one thread). */
  backend: string;
  threads: number;
  /** Streams offered at most, whatever the score. */
  maxCapacity: number;
  /** Offer capacity only while the relay clock is in use ({@link DspRunner.setRelayClock}), and publish only relay-clock segments. */
  requireRelayClock: boolean;
}

export const defaultDspRunnerOptions: DspRunnerOptions = { heartbeatMs: 2000, backend: 'wasm', threads: 1, maxCapacity: 8, requireRelayClock: true };

/**
 * A quick speed score: seconds of 48 kHz audio per second of compute through the shared front end
 * (48 → 16 kHz resampling, Silero framing with the tonality meter), over `seconds` of noise (a fixed
 * amount of work, timed once). The model itself runs in the VAD worker and is not timed here; the
 * score ranks tabs, it is no promise.
 */
export function measureDspScore(seconds = 2): number {
  const chunk = new Float32Array(4800);
  let seed = 12345;
  for (let i = 0; i < chunk.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    chunk[i] = seed / 2 ** 32 - 0.5;
  }
  const resampler = new Resampler(48_000, 16_000, {}, chunk.length);
  const framer = new SileroFramer(chunk.length / 3 + 64);
  const t0 = performance.now();
  for (let k = 0; k < seconds * 10; k++) framer.processInput(resampler.processInput(chunk));
  const elapsedS = Math.max(1e-3, (performance.now() - t0) / 1000);
  return Math.round((seconds / elapsedS) * 10) / 10;
}

/** Streams offered for a score: one per 100× real time of the front end, 1 … maxCapacity. */
export function capacityFor(score: number, maxCapacity: number): number {
  return Math.max(1, Math.min(maxCapacity, Math.floor(score / 100)));
}

/**
 * Whether this tab runs as a DSP runner: only when switched on with `?dsp-offload` (or
 * `?dsp-offload=on`) in the console's address or `promethean.dsp-offload` = `on` in its local storage
 * (the address wins; `off` switches it off). Off by default: the tab's segment times are on the
 * bridge's clock through the relay anchors, but in Chromium on a loaded 2-core machine they were seen
 * up to 1.8 s away from the server VAD's segments of the same speech (docs/dsp.md), and the STT worker
 * cuts its audio by those times; the server's worker stays the default until that is within 100 ms.
 */
export function dspOffloadEnabled(search: string, stored: string | null): boolean {
  const param = new URLSearchParams(search).get('dsp-offload');
  if (param !== null) return param !== 'off';
  return stored === 'on';
}

/** How far (ns) a relay-clock segment may end from the speaker's newest captured frame. */
const SEGMENT_CLOCK_WINDOW_NS = 60_000_000_000n;

/**
 * Which clock a segment's times are on: `relay` when the speaker's capture clock runs on relay
 * anchors and the segment ends within a minute of the newest frame on that clock (a segment the VAD
 * worker stamped through an older, receive-anchored pair lands far away: epoch ns against the
 * bridge's monotonic ns), else `receive`; null when nothing is captured for the speaker.
 */
export function segmentClock(stat: CaptureStats | undefined, seg: BrowserSegment): 'relay' | 'receive' | null {
  if (!stat?.clock) return null;
  if (stat.clock !== 'relay' || !stat.newest || seg.ts_end_ns === null) return 'receive';
  const d = BigInt(seg.ts_end_ns) - BigInt(stat.newest.ns);
  return (d < 0n ? -d : d) <= SEGMENT_CLOCK_WINDOW_NS ? 'relay' : 'receive';
}

interface Held {
  provider: string;
  tenant: string;
  nextIndex: number;
  epochMs: number;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export class DspRunner {
  readonly options: DspRunnerOptions;
  readonly runnerId = randomId();
  /** `session/user` → the lease this tab holds. */
  readonly #held = new Map<string, Held>();
  #bus: BusConnection | undefined;
  #off: Array<() => void> = [];
  #src: string | null = null;
  #tenant: string | null = null;
  #score: number | null = null;
  #lagMs = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #relayClock = false;
  #advertised = false;
  /** Segments published, and refusals the hub sent back for this runner's intents. */
  published = 0;
  refused = 0;
  /** Segments of held streams not published because their times were not on the relay clock. */
  unclocked = 0;

  constructor(options: Partial<DspRunnerOptions> = {}) {
    this.options = { ...defaultDspRunnerOptions, ...options };
  }

  /**
   * Runs on `bus` as session `sid` of `tenant` (null: every tenant); a new bus (a reconnect after
   * sign-in) replaces the old one, and the tab advertises again.
   */
  bind(bus: BusConnection | undefined, sid: string | null, tenant: string | null): void {
    if (bus === this.#bus && (sid === null ? null : `client:${sid}`) === this.#src) return;
    this.#unbind();
    if (!bus || sid === null) return;
    this.#bus = bus;
    this.#src = `client:${sid}`;
    this.#tenant = tenant;
    bus.subscribe(`promethean.p.*.t.${tenant ?? '*'}.dsp.lease`);
    this.#off.push(
      bus.on('envelope', (env) => this.#onEnvelope(env)),
      bus.on('status', (status) => status === 'open' && this.#advertise()),
      bus.on('error', (env) => this.#onError(env)),
    );
    this.#timer = setInterval(() => this.#heartbeat(), this.options.heartbeatMs);
    if (bus.status === 'open') this.#advertise();
  }

  /**
   * Whether this tab's session clock runs on relay anchors now. Turning on offers capacity (when
   * `requireRelayClock`); turning off gives every lease back (`dsp.leave`) until it is on again.
   */
  setRelayClock(on: boolean): void {
    if (on === this.#relayClock) return;
    this.#relayClock = on;
    if (!this.options.requireRelayClock) return;
    if (on) this.#advertise();
    else if (this.#advertised && this.#bus && this.#src && this.#tenant) {
      this.#bus.publish(makeEnvelope('dsp.leave', { runner_id: this.runnerId }, { src: this.#src, provider: 'discord', tenant: this.#tenant }));
      this.#advertised = false;
      this.#held.clear();
    }
  }

  /** Whether the tab offers capacity now. */
  get offering(): boolean {
    return this.#bus !== undefined && this.#src !== null && this.#tenant !== null && (this.#relayClock || !this.options.requireRelayClock);
  }

  /** How far this tab's VAD runs behind real time now (reported with the next heartbeat). */
  setLag(ms: number): void {
    this.#lagMs = Number.isFinite(ms) && ms > 0 ? Math.min(ms, 3_600_000) : 0;
  }

  holds(sessionId: string, userId: string): boolean {
    return this.#held.has(`${sessionId}/${userId}`);
  }

  /**
   * Publishes a segment of a stream this tab holds; false when it holds none, cannot send now, or
   * (with `requireRelayClock`) `clock` is not `relay`. `clock`: which clock the segment's times are on.
   */
  publish(sessionId: string, seg: BrowserSegment, clock: 'relay' | 'receive' | null = null): boolean {
    const held = this.#held.get(`${sessionId}/${seg.user_id}`);
    if (!held || !this.#bus || !this.#src || seg.ts_start_ns === null || seg.ts_end_ns === null) return false;
    if (this.options.requireRelayClock && clock !== 'relay') {
      this.unclocked++;
      return false;
    }
    const index = held.nextIndex;
    const payload: PayloadOf<'voice.audio.segment'> = {
      session_id: sessionId,
      user_id: seg.user_id,
      segment_id: `${sessionId}.${seg.user_id}.${held.epochMs}.${index}`,
      index,
      ts_start_ns: seg.ts_start_ns,
      ts_end_ns: seg.ts_end_ns,
      energy_rms: seg.energy_rms,
      ...(Number.isFinite(seg.snr) ? { snr: Math.round(seg.snr * 100) / 100 } : {}),
      vad: { model: 'silero-vad-v5', threshold: seg.threshold },
      method: 'silero-v5',
      threshold: seg.threshold,
      silence_ms: seg.silence_ms,
      runner_id: this.runnerId,
      ...(clock ? { clock } : {}),
    };
    if (!this.#bus.publish(makeEnvelope('voice.audio.segment', payload, { src: this.#src, provider: held.provider, tenant: held.tenant }))) return false;
    held.nextIndex++;
    this.published++;
    return true;
  }

  /** Gives every lease back at once (the page is going away). */
  leave(): void {
    if (this.#bus && this.#src && this.#tenant) this.#bus.publish(makeEnvelope('dsp.leave', { runner_id: this.runnerId }, { src: this.#src, provider: 'discord', tenant: this.#tenant }));
    this.#unbind();
  }

  #unbind(): void {
    for (const off of this.#off.splice(0)) off();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#held.clear();
    this.#bus = undefined;
    this.#src = null;
    this.#advertised = false;
  }

  #send<I extends 'dsp.capacity' | 'dsp.heartbeat'>(intent: I, payload: PayloadOf<I>): void {
    // A session of every tenant (an unscoped owner) has no one tenant to run for: it offers nothing.
    if (!this.#bus || !this.#src || !this.#tenant) return;
    this.#bus.publish(makeEnvelope<I>(intent, payload as never, { src: this.#src, provider: 'discord', tenant: this.#tenant }));
  }

  #advertise(): void {
    if (this.options.requireRelayClock && !this.#relayClock) return;
    if (!this.#bus || !this.#src || !this.#tenant) return;
    this.#advertised = true;
    this.#score ??= measureDspScore();
    this.#send('dsp.capacity', { runner_id: this.runnerId, backend: this.options.backend, threads: this.options.threads, score: this.#score, capacity: capacityFor(this.#score, this.options.maxCapacity) });
  }

  #heartbeat(): void {
    if (!this.#advertised) return;
    this.#send('dsp.heartbeat', { runner_id: this.runnerId, lag_ms: this.#lagMs });
  }

  #onEnvelope(env: BusEnvelope): void {
    if (env.intent !== 'dsp.lease' || !this.#src) return;
    const p = env.payload as PayloadOf<'dsp.lease'>;
    const key = `${p.session_id}/${p.user_id}`;
    if (p.holder === `${this.#src}/${this.runnerId}`) this.#held.set(key, { provider: env.provider, tenant: env.tenant, nextIndex: p.next_index, epochMs: p.epoch_ms });
    else this.#held.delete(key);
  }

  #onError(env: BusEnvelope): void {
    const p = env.payload as { topic?: unknown };
    const topic = typeof p.topic === 'string' ? p.topic : '';
    if (!topic.endsWith('.dsp.heartbeat') && !topic.endsWith('.dsp.capacity') && !topic.endsWith('.voice.audio.segment')) return;
    this.refused++;
    // The server restarted (it no longer knows this runner): advertise again.
    if (topic.endsWith('.dsp.heartbeat')) this.#advertise();
  }
}
