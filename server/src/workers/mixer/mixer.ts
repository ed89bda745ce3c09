/**
 * The playback mixer core (tokenless, provider-agnostic). Each session has two lanes, each one
 * ordered queue: `main` (what the bot says: two overlapping requests come out one after the other)
 * and `background` (music, tones), summed into one stream. While a main request that asks for
 * `duckingDb` plays, the background lane is attenuated by that much, the gain ramping over
 * `duckFadeMs` so neither the dip nor the return clicks; every request also fades in and out over
 * `fadeMs` at its own edges (audio that starts or stops mid-waveform is a click otherwise). The sum
 * is cut into 20 ms frames of 48 kHz stereo that leave on a drift-free real-time clock; a frame's
 * `playId` and `last` follow the main lane's request when one plays, else the background's.
 */

export const FRAME_SAMPLES = 960;
export const FRAME_MS = 20;

export type MixerLane = 'main' | 'background';

export interface MixerRequest {
  /** Routing, echoed on each output frame. */
  provider: string;
  tenant: string;
  sessionId: string;
  playId?: string | undefined;
  /** Interleaved 48 kHz stereo s16, already gained. */
  stereo: Int16Array;
  /** Default `main`. */
  lane?: MixerLane | undefined;
  /** While this (main) request plays, the background lane is lowered by this many dB (≤ 0). */
  duckingDb?: number | undefined;
}

export interface MixerFrame {
  provider: string;
  tenant: string;
  sessionId: string;
  playId?: string | undefined;
  /** Per-session output sequence. */
  seq: number;
  last: boolean;
  /** 1920 interleaved stereo samples. */
  pcm: Int16Array;
}

export interface MixerOptions {
  /** Frame period in ms (20). Tests may not change what a frame holds, only when it leaves. */
  frameMs: number;
  /** Most requests waiting per session and lane; a new one beyond it is rejected. */
  maxQueued: number;
  /** Most sessions with a queue; a request for a new session beyond it is rejected (after expiring idle ones). */
  maxSessions: number;
  /** A session with nothing to play for this long is forgotten (its seq starts over), in ms. */
  sessionIdleMs: number;
  /** Fade in and out at each request's edges, ms (0: none). */
  fadeMs: number;
  /** Time the ducking gain takes to go all the way between 1 and 0 (it moves linearly), ms. */
  duckFadeMs: number;
  /** Milliseconds on a monotonic clock (tests pass their own). */
  now: () => number;
}

export const defaultMixerOptions: MixerOptions = {
  frameMs: FRAME_MS,
  maxQueued: 64,
  maxSessions: 256,
  sessionIdleMs: 60_000,
  fadeMs: 5,
  duckFadeMs: 50,
  now: () => performance.now(),
};

/** What became of an enqueued request. */
export type EnqueueResult = 'queued' | 'queue_full' | 'sessions_full' | 'closed';

interface Lane {
  requests: MixerRequest[];
  /** Sample offset (in stereo frames) inside the head request. */
  at: number;
}

interface SessionQueue {
  main: Lane;
  background: Lane;
  /** The background lane's ducking gain now (linear, 0..1). */
  duck: number;
  seq: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  nextAt: number;
  /** When the queue last ran dry (monotonic ms); undefined while playing. */
  idleSince: number | undefined;
}

export class Mixer {
  readonly options: MixerOptions;
  private readonly sessions = new Map<string, SessionQueue>();
  private readonly emit: (frame: MixerFrame) => void;
  private readonly fadeSamples: number;
  /** Ducking gain change per sample. */
  private readonly duckStep: number;
  /** One frame's sum before clipping (reused). */
  private readonly sum = new Float32Array(FRAME_SAMPLES * 2);
  private closed = false;

  constructor(emit: (frame: MixerFrame) => void, options: Partial<MixerOptions> = {}) {
    this.emit = emit;
    this.options = { ...defaultMixerOptions, ...options };
    this.fadeSamples = Math.round((this.options.fadeMs * 48000) / 1000);
    this.duckStep = this.options.duckFadeMs > 0 ? 1 / ((this.options.duckFadeMs * 48000) / 1000) : 1;
  }

  /** Sessions forgotten after idling `sessionIdleMs`. */
  expired = 0;

  /** Appends a request to its session's lane (or says why not). Idle sessions expire here. */
  enqueue(request: MixerRequest): EnqueueResult {
    if (this.closed) return 'closed';
    const now = this.options.now();
    this.expireIdle(now);
    const key = sessionKey(request.provider, request.tenant, request.sessionId);
    let q = this.sessions.get(key);
    if (!q) {
      if (this.sessions.size >= this.options.maxSessions) return 'sessions_full';
      q = { main: { requests: [], at: 0 }, background: { requests: [], at: 0 }, duck: 1, seq: 0, timer: undefined, nextAt: 0, idleSince: now };
      this.sessions.set(key, q);
    }
    const lane = q[request.lane ?? 'main'];
    if (lane.requests.length >= this.options.maxQueued) return 'queue_full';
    lane.requests.push(this.faded(request));
    q.idleSince = undefined;
    if (!q.timer) {
      q.nextAt = performance.now();
      this.tick(q);
    }
    return 'queued';
  }

  /**
   * Drops everything a session has queued or playing (the kill switch); `lane` limits it to one lane.
   * Returns how many requests were dropped. The next frame is simply not sent: Discord ends a
   * stream that stops with silence frames, which the sender adds.
   */
  stop(provider: string, tenant: string, sessionId: string, lane?: MixerLane): number {
    const q = this.sessions.get(sessionKey(provider, tenant, sessionId));
    if (!q) return 0;
    let n = 0;
    for (const name of lane ? [lane] : (['main', 'background'] as const)) {
      n += q[name].requests.length;
      q[name].requests.length = 0;
      q[name].at = 0;
    }
    if (q.main.requests.length === 0 && q.background.requests.length === 0) {
      if (q.timer) clearTimeout(q.timer);
      q.timer = undefined;
      q.duck = 1;
      q.idleSince = this.options.now();
    }
    return n;
  }

  /** Sessions with a queue (playing or idle but not yet expired). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Forgets sessions idle for `sessionIdleMs` or longer. */
  expireIdle(now: number = this.options.now()): void {
    for (const [key, q] of this.sessions) {
      if (q.idleSince !== undefined && now - q.idleSince >= this.options.sessionIdleMs) {
        this.sessions.delete(key);
        this.expired++;
      }
    }
  }

  /** Requests waiting or playing, all sessions and lanes. */
  get depth(): number {
    let n = 0;
    for (const q of this.sessions.values()) n += q.main.requests.length + q.background.requests.length;
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.sessions.values()) if (q.timer) clearTimeout(q.timer);
    this.sessions.clear();
  }

  /** A copy of the request with its first and last `fadeSamples` ramped (raised cosine). */
  private faded(request: MixerRequest): MixerRequest {
    const n = Math.min(this.fadeSamples, Math.floor(request.stereo.length / 4));
    if (n === 0) return request;
    const stereo = request.stereo.slice();
    const frames = stereo.length >> 1;
    for (let i = 0; i < n; i++) {
      const g = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
      for (const at of [i, frames - 1 - i]) {
        stereo[2 * at] = Math.round(stereo[2 * at]! * g);
        stereo[2 * at + 1] = Math.round(stereo[2 * at + 1]! * g);
      }
    }
    return { ...request, stereo };
  }

  private tick(q: SessionQueue): void {
    q.timer = undefined;
    if (this.closed) return;
    const main = q.main.requests[0];
    const background = q.background.requests[0];
    const owner = main ?? background;
    if (!owner) return; // idle; the next enqueue restarts the clock
    const sum = this.sum;
    sum.fill(0);
    const mainEnded = main ? this.add(q.main, sum, 1) : false;
    if (background) {
      const target = main?.duckingDb !== undefined ? 10 ** (main.duckingDb / 20) : 1;
      q.duck = this.addDucked(q.background, sum, q.duck, target);
    } else q.duck = main?.duckingDb !== undefined ? 10 ** (main.duckingDb / 20) : 1;
    const backgroundEnded = background ? q.background.requests[0] !== background : false;
    const pcm = new Int16Array(FRAME_SAMPLES * 2);
    for (let i = 0; i < pcm.length; i++) {
      const v = Math.round(sum[i]!);
      pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    const last = main ? mainEnded : backgroundEnded;
    this.emit({ provider: owner.provider, tenant: owner.tenant, sessionId: owner.sessionId, playId: owner.playId, seq: q.seq++, last, pcm });
    q.nextAt += this.options.frameMs;
    if (q.main.requests.length === 0 && q.background.requests.length === 0) {
      q.duck = 1;
      q.idleSince = this.options.now();
      return;
    }
    this.schedule(q);
  }

  /**
   * Arms the session's timer for `nextAt`. libuv measures timers from its cached loop time, which can
   * lag the monotonic clock after a busy stretch, so a timer may fire a few ms early: then wait out
   * the rest instead of sending the frame early.
   */
  private schedule(q: SessionQueue): void {
    q.timer = setTimeout(() => {
      const rest = q.nextAt - performance.now();
      if (rest > 0) this.schedule(q);
      else this.tick(q);
    }, Math.max(0, Math.ceil(q.nextAt - performance.now())));
  }

  /** Adds up to one frame of the lane's head request into `sum`; returns whether the request ended. */
  private add(lane: Lane, sum: Float32Array, gain: number): boolean {
    const head = lane.requests[0]!;
    const total = head.stereo.length >> 1;
    const take = Math.min(FRAME_SAMPLES, total - lane.at);
    const from = lane.at * 2;
    for (let i = 0; i < take * 2; i++) sum[i]! += head.stereo[from + i]! * gain;
    lane.at += take;
    if (lane.at < total) return false;
    lane.requests.shift();
    lane.at = 0;
    return true;
  }

  /** The background lane's frame with the ducking gain moving toward `target` sample by sample; returns the gain reached. */
  private addDucked(lane: Lane, sum: Float32Array, duck: number, target: number): number {
    const head = lane.requests[0]!;
    const total = head.stereo.length >> 1;
    const take = Math.min(FRAME_SAMPLES, total - lane.at);
    const from = lane.at * 2;
    let g = duck;
    for (let i = 0; i < take; i++) {
      if (g > target) g = Math.max(target, g - this.duckStep);
      else if (g < target) g = Math.min(target, g + this.duckStep);
      sum[2 * i]! += head.stereo[from + 2 * i]! * g;
      sum[2 * i + 1]! += head.stereo[from + 2 * i + 1]! * g;
    }
    lane.at += take;
    if (lane.at >= total) {
      lane.requests.shift();
      lane.at = 0;
    }
    return g;
  }
}

function sessionKey(provider: string, tenant: string, sessionId: string): string {
  return `${provider}/${tenant}/${sessionId}`;
}
