/**
 * A rig for the DSP offload over the real hub (test and benchmark support): the hub with the
 * scheduler as its `dsp` grant check, the real VAD worker (Silero v5 on onnxruntime-node) under its
 * own agent key, a bridge stand-in publishing PCM frames, an observer recording what is delivered,
 * and {@link FakeBrowserRunner}: a bus client on a moderator's session token that plays a console tab.
 * It is a fake only in where it runs (Node, not a browser): it speaks the console's intents and runs
 * the same detector (the shared `VadStream`: resampler, Silero v5, `VadSegmenter`) on the same PCM.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUS_PCM_FORMAT, BusClient, makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
import { agentBusFrom, loadManifest } from '@promethean/shared/node';
import { createHub, issueAgentKey, type Hub } from '../hub/index.ts';
import { sessionId } from '../hub/auth.ts';
import { startVad, VadStream, type RunningVad, type TimedSegment } from '../workers/vad/index.ts';
import { DspOffload, type DspOffloadOptions } from './offload.ts';
import { SileroModel } from './silero.ts';

export const ROUTE = { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' } as const;
export const SESSION = 'vs-offload';
export const USER = '1300000000000000003';
const FRAME = 960;
export const ORIGIN_NS = 7_000_000_000_000n;
const VAD_MANIFEST = fileURLToPath(new URL('../workers/vad/agent.yml', import.meta.url));

export async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A delivered segment, as a consumer (the STT worker) sees it. */
export interface Delivered {
  src: string;
  payload: PayloadOf<'voice.audio.segment'>;
  at: number;
}

/**
 * Plays a console tab: advertises capacity, renews by heartbeat, runs VAD on the PCM of the streams
 * it holds and publishes their segments from the lease's index; stops on revoke. `close()` drops
 * the connection without `dsp.leave` (a crashed tab); `leave()` is the polite way out.
 */
export class FakeBrowserRunner {
  readonly runnerId = randomBytes(9).toString('base64url');
  readonly src: string;
  readonly bus: BusClient;
  readonly errors: PayloadOf<'error'>[] = [];
  /** PCM frames received (run or ignored) and segments published. */
  handled = 0;
  published = 0;
  /** Current lease per stream (`session/user`), with its detector. */
  readonly leases = new Map<string, { nextIndex: number; epochMs: number; stream: VadStream; queue: Array<{ pcm: Int16Array; ts: bigint }>; running: boolean }>();
  /** Lease envelopes seen for this runner (grant or revoke), with when. */
  readonly leaseLog: Array<{ holder: string | null; at: number; nextIndex: number }> = [];
  readonly #model: SileroModel;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(hub: Hub, token: string, model: SileroModel) {
    this.src = `client:${sessionId(createHash('sha256').update(token).digest('hex'))}`;
    this.bus = new BusClient({ url: hub.url, token });
    this.bus.on('error', (env) => void this.errors.push(env.payload));
    this.#model = model;
  }

  get holderId(): string {
    return DspOffload.runnerOf(this.src, this.runnerId);
  }

  async start(): Promise<void> {
    await this.bus.connect();
    const subs = [
      this.bus.subscribe(`promethean.p.*.t.${ROUTE.tenant}.dsp.lease`, (env) => this.#onLease(env)),
      this.bus.subscribe(`promethean.p.*.t.${ROUTE.tenant}.voice.audio.pcm`, (env, att) => this.#onPcm(env, att)),
    ];
    await Promise.all(subs.map((s) => s.ready));
  }

  advertise(capacity = 4, score = 100, heartbeatMs = 300): void {
    this.#publish('dsp.capacity', { runner_id: this.runnerId, backend: 'wasm', threads: 1, score, capacity });
    this.#timer ??= setInterval(() => this.#publish('dsp.heartbeat', { runner_id: this.runnerId, lag_ms: 0 }), heartbeatMs);
  }

  leave(): void {
    this.#stopTimer();
    this.#publish('dsp.leave', { runner_id: this.runnerId });
  }

  /** Drops the connection (no leave): the lease expires on the server. */
  close(): void {
    this.#stopTimer();
    this.leases.clear();
    this.bus.close();
  }

  /** Publishes a segment as this tab would (for checks of what the hub refuses). */
  publishSegment(payload: PayloadOf<'voice.audio.segment'>): void {
    this.#publish('voice.audio.segment', payload);
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #publish<I extends 'dsp.capacity' | 'dsp.heartbeat' | 'dsp.leave' | 'voice.audio.segment'>(intent: I, payload: PayloadOf<I>): void {
    this.bus.publish(makeEnvelope<I>(intent, payload as never, { src: this.src, provider: ROUTE.provider, tenant: ROUTE.tenant }));
  }

  #onLease(env: Envelope): void {
    const p = env.payload as PayloadOf<'dsp.lease'>;
    const key = `${p.session_id}/${p.user_id}`;
    if (p.holder === this.holderId) {
      const stream = new VadStream(this.#model, {});
      stream.continueFrom(p.next_index);
      this.leases.set(key, { nextIndex: p.next_index, epochMs: p.epoch_ms, stream, queue: [], running: false });
      this.leaseLog.push({ holder: p.holder, at: performance.now(), nextIndex: p.next_index });
    } else if (this.leases.delete(key)) {
      this.leaseLog.push({ holder: p.holder, at: performance.now(), nextIndex: p.next_index });
    }
  }

  #onPcm(env: Envelope, attachments: Uint8Array[]): void {
    const p = env.payload as PayloadOf<'voice.audio.pcm'>;
    const lease = this.leases.get(`${p.session_id}/${p.user_id}`);
    const bytes = p.attachment !== undefined ? attachments[p.attachment] : undefined;
    if (!lease || !bytes) {
      this.handled++;
      return;
    }
    const pcm = new Int16Array(bytes.byteLength / 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(2 * i, true);
    lease.queue.push({ pcm, ts: BigInt(p.ts_monotonic_ns) });
    if (!lease.running) void this.#drain(p.session_id, p.user_id, lease);
  }

  async #drain(sessionIdOf: string, userId: string, lease: NonNullable<ReturnType<FakeBrowserRunner['leases']['get']>>): Promise<void> {
    lease.running = true;
    try {
      while (lease.queue.length > 0) {
        const f = lease.queue.shift()!;
        const done = await lease.stream.push(f.pcm, f.ts);
        if (this.leases.get(`${sessionIdOf}/${userId}`) === lease) for (const s of done) this.#publishSegment(sessionIdOf, userId, lease.epochMs, s);
        this.handled++;
      }
    } finally {
      lease.running = false;
    }
  }

  #publishSegment(session: string, userId: string, epochMs: number, s: TimedSegment): void {
    this.#publish('voice.audio.segment', {
      session_id: session,
      user_id: userId,
      segment_id: `${session}.${userId}.${epochMs}.${s.index}`,
      index: s.index,
      ts_start_ns: s.tsStartNs.toString(),
      ts_end_ns: s.tsEndNs.toString(),
      energy_rms: s.energyRms,
      method: 'silero-v5',
      runner_id: this.runnerId,
    });
    this.published++;
  }
}

export interface OffloadRig {
  hub: Hub;
  offload: DspOffload;
  vad: RunningVad;
  model: SileroModel;
  bridge: BusClient;
  delivered: Delivered[];
  leases: Array<PayloadOf<'dsp.lease'> & { at: number }>;
  /** Frames sent so far. */
  sent: number;
  runners: FakeBrowserRunner[];
  /** A fresh runner on its own moderator session. */
  runner(): Promise<FakeBrowserRunner>;
  /**
   * Sends the PCM of samples [from, to) (48 kHz s16) as the bridge does, at most ~1 s ahead of the
   * slowest consumer; timestamps count every frame sent, from {@link ORIGIN_NS}.
   */
  feed(s16: Int16Array, fromSample: number, toSample: number): Promise<void>;
  /** Frames the worker has handled (run or offloaded). */
  workerHandled(): number;
  close(): Promise<void>;
}

export async function startOffloadRig(options: Partial<DspOffloadOptions> = {}): Promise<OffloadRig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dsp-offload-'));
  // The worker under its own key, with the outputs its manifest declares, as `promethean start` runs it.
  const vadKeyFile = await issueAgentKey(dataDir, 'vad', { outputs: (await loadManifest(VAD_MANIFEST)).outputs, readonly: false });
  const vadKey = (await readFile(vadKeyFile, 'utf8')).trim();
  const offload = new DspOffload(options);
  const hub = await createHub({ dataDir, writeRuntimeFile: false, dsp: offload });
  const serverBus = new BusClient({ url: hub.url, token: hub.agentKey });
  const workerBus = new BusClient({ url: hub.url, token: vadKey });
  const bridge = new BusClient({ url: hub.url, token: hub.agentKey });
  await Promise.all([serverBus.connect(), workerBus.connect(), bridge.connect()]);
  await offload.attach(serverBus);
  const delivered: Delivered[] = [];
  const leases: OffloadRig['leases'] = [];
  const subs = [
    bridge.subscribe(`promethean.p.discord.t.demo.voice.audio.segment`, (env) => void delivered.push({ src: env.src, payload: env.payload as PayloadOf<'voice.audio.segment'>, at: performance.now() })),
    bridge.subscribe(`promethean.p.discord.t.demo.dsp.lease`, (env) => void leases.push({ ...(env.payload as PayloadOf<'dsp.lease'>), at: performance.now() })),
  ];
  await Promise.all(subs.map((s) => s.ready));
  const model = await SileroModel.load();
  const vad = await startVad(agentBusFrom(workerBus), { logLevel: 'silent', maxQueue: 10_000, demandPcm: false, model });
  const runners: FakeBrowserRunner[] = [];
  const workerHandled = () => (vad.runtime.counters.frames ?? 0) + (vad.runtime.counters.frames_offloaded ?? 0);
  let seq = 0;
  const rig: OffloadRig = {
    hub,
    offload,
    vad,
    model,
    bridge,
    delivered,
    leases,
    sent: 0,
    runners,
    async runner() {
      const { token } = hub.issueSessionToken({ role: 'moderator', tenant: ROUTE.tenant });
      const r = new FakeBrowserRunner(hub, token, model);
      await r.start();
      // Frames sent before it subscribed never reach it: count them as handled.
      r.handled = rig.sent;
      runners.push(r);
      return r;
    },
    async feed(s16, fromSample, toSample) {
      const behind = () => Math.min(workerHandled(), ...runners.filter((r) => r.bus.state === 'open').map((r) => r.handled));
      for (let at = fromSample; at + FRAME <= toSample; at += FRAME) {
        const frame = s16.slice(at, at + FRAME);
        // The stream's clock runs on with every frame sent (a range fed twice is later audio).
        const clock = rig.sent * FRAME;
        const ts = ORIGIN_NS + (BigInt(clock) * 1_000_000_000n) / 48000n;
        const env = makeEnvelope('voice.audio.pcm', { session_id: SESSION, user_id: USER, ts_monotonic_ns: ts.toString(), format: BUS_PCM_FORMAT, rtp: { ssrc: 22222, seq: seq & 0xffff, timestamp: clock >>> 0 }, attachment: 0 }, ROUTE);
        seq++;
        bridge.publish(env, [new Uint8Array(frame.buffer)]);
        rig.sent++;
        // The hub drops the oldest media frames of a subscriber that lags: keep at most ~1 s in flight.
        if (rig.sent % 25 === 0) await until('the consumers to keep up', () => behind() >= rig.sent - 50);
      }
      await until('every frame handled', () => behind() >= rig.sent);
    },
    workerHandled,
    async close() {
      for (const r of runners) r.close();
      await vad.stop();
      await model.close();
      offload.close();
      serverBus.close();
      workerBus.close();
      bridge.close();
      await hub.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return rig;
}
