/**
 * The playback mixer core (tokenless, provider-agnostic): one ordered queue per session; each request
 * is converted to 48 kHz stereo with its gain and cut into 20 ms frames that leave on a drift-free
 * real-time clock, so two overlapping requests come out one after the other. The last frame of a
 * request is zero-padded and marked `last`.
 */

export const FRAME_SAMPLES = 960;
export const FRAME_MS = 20;

export interface MixerRequest {
  /** Routing, echoed on each output frame. */
  provider: string;
  tenant: string;
  sessionId: string;
  playId?: string | undefined;
  /** Interleaved 48 kHz stereo s16, already gained. */
  stereo: Int16Array;
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
  /** Most requests waiting per session; a new one beyond it is rejected. */
  maxQueued: number;
  /** Most sessions with a queue; a request for a new session beyond it is rejected (after expiring idle ones). */
  maxSessions: number;
  /** A session with nothing to play for this long is forgotten (its seq starts over), in ms. */
  sessionIdleMs: number;
  /** Milliseconds on a monotonic clock (tests pass their own). */
  now: () => number;
}

export const defaultMixerOptions: MixerOptions = { frameMs: FRAME_MS, maxQueued: 64, maxSessions: 256, sessionIdleMs: 60_000, now: () => performance.now() };

/** What became of an enqueued request. */
export type EnqueueResult = 'queued' | 'queue_full' | 'sessions_full' | 'closed';

interface SessionQueue {
  requests: MixerRequest[];
  /** Sample offset (in stereo frames) inside the head request. */
  at: number;
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
  private closed = false;

  constructor(emit: (frame: MixerFrame) => void, options: Partial<MixerOptions> = {}) {
    this.emit = emit;
    this.options = { ...defaultMixerOptions, ...options };
  }

  /** Sessions forgotten after idling `sessionIdleMs`. */
  expired = 0;

  /** Appends a request to its session's queue (or says why not). Idle sessions expire here. */
  enqueue(request: MixerRequest): EnqueueResult {
    if (this.closed) return 'closed';
    const now = this.options.now();
    this.expireIdle(now);
    const key = `${request.provider}/${request.tenant}/${request.sessionId}`;
    let q = this.sessions.get(key);
    if (!q) {
      if (this.sessions.size >= this.options.maxSessions) return 'sessions_full';
      q = { requests: [], at: 0, seq: 0, timer: undefined, nextAt: 0, idleSince: now };
      this.sessions.set(key, q);
    }
    if (q.requests.length >= this.options.maxQueued) return 'queue_full';
    q.requests.push(request);
    q.idleSince = undefined;
    if (!q.timer) {
      q.nextAt = performance.now();
      this.tick(q);
    }
    return 'queued';
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

  /** Requests waiting or playing, all sessions. */
  get depth(): number {
    let n = 0;
    for (const q of this.sessions.values()) n += q.requests.length;
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.sessions.values()) if (q.timer) clearTimeout(q.timer);
    this.sessions.clear();
  }

  private tick(q: SessionQueue): void {
    q.timer = undefined;
    if (this.closed) return;
    const head = q.requests[0];
    if (!head) return; // idle; the next enqueue restarts the clock
    const totalFrames = head.stereo.length / 2;
    const pcm = new Int16Array(FRAME_SAMPLES * 2);
    const take = Math.min(FRAME_SAMPLES, totalFrames - q.at);
    pcm.set(head.stereo.subarray(q.at * 2, (q.at + take) * 2));
    q.at += take;
    const last = q.at >= totalFrames;
    if (last) {
      q.requests.shift();
      q.at = 0;
    }
    this.emit({ provider: head.provider, tenant: head.tenant, sessionId: head.sessionId, playId: head.playId, seq: q.seq++, last, pcm });
    q.nextAt += this.options.frameMs;
    if (q.requests.length === 0) {
      q.idleSince = this.options.now();
      return;
    }
    q.timer = setTimeout(() => this.tick(q), Math.max(0, q.nextAt - performance.now()));
  }
}
