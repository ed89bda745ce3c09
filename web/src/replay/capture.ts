/**
 * The page's side of replay capture: attaches the capture worker as an `RTCRtpScriptTransform` to
 * each speaker's receiver (once per receiver) and asks it for stats and clips.
 *
 * Chromium has both encoded-transform APIs; `RTCRtpScriptTransform` (the standard one, shipped in
 * Chromium 141+) is used: it needs no flag on the peer connection (mediasoup-client creates that
 * connection, so `encodedInsertableStreams: true` could not be set there) and keeps the frames off
 * the main thread. A browser without it gets no replay, and says so.
 */
import { InvalidStateError, UnsupportedError } from '../errors.ts';
import type { CaptureRequest, CaptureResponse, CaptureStats, CaptureTransformOptions, ClipFrame } from './protocol.ts';

export interface Clip {
  user_id: string;
  from_ns: bigint;
  to_ns: bigint;
  rate: number;
  frames: ClipFrame[];
}

type Pending = { resolve: (r: CaptureResponse) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;

/** Whether this browser can capture received frames. */
export function captureSupported(): boolean {
  return typeof RTCRtpScriptTransform === 'function';
}

export class ReplayCapture {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #attached = new WeakSet<RTCRtpReceiver>();
  #seq = 0;
  #closed = false;

  constructor() {
    if (!captureSupported()) throw new UnsupportedError('this browser has no RTCRtpScriptTransform: replay and evidence clips are off');
    this.#worker = new Worker(new URL('./capture.worker.ts', import.meta.url), { type: 'module', name: 'replay-capture' });
    this.#worker.onmessage = (ev: MessageEvent<CaptureResponse>) => {
      const p = this.#pending.get(ev.data.id);
      if (!p) return;
      this.#pending.delete(ev.data.id);
      if (ev.data.type === 'error') p.reject(new Error(ev.data.message));
      else p.resolve(ev.data);
    };
  }

  /** Starts capturing a receiver's frames for `userId` (a no-op for one already attached). */
  attach(userId: string, mid: string, receiver: RTCRtpReceiver): void {
    if (this.#closed || this.#attached.has(receiver)) return;
    this.#attached.add(receiver);
    const options: CaptureTransformOptions = { user_id: userId, mid };
    receiver.transform = new RTCRtpScriptTransform(this.#worker, options);
  }

  async stats(): Promise<CaptureStats[]> {
    const r = await this.#request({ type: 'stats' });
    return r.type === 'stats' ? r.stats : [];
  }

  async clip(userId: string, fromNs: bigint, toNs: bigint): Promise<Clip> {
    const r = await this.#request({ type: 'clip', user_id: userId, from_ns: fromNs.toString(), to_ns: toNs.toString() });
    if (r.type !== 'clip') throw new Error('the capture worker answered a clip request with something else');
    return { user_id: r.user_id, from_ns: BigInt(r.from_ns), to_ns: BigInt(r.to_ns), rate: r.rate, frames: r.frames };
  }

  /** Transforms attached, frames seen, frames without a readable RTP timestamp, and the last metadata seen. */
  async diag(): Promise<{ transforms: number; frames: number; unreadable: number; last_meta: string | null }> {
    const r = await this.#request({ type: 'diag' });
    if (r.type !== 'diag') throw new Error('unexpected answer');
    return { transforms: r.transforms, frames: r.frames, unreadable: r.unreadable, last_meta: r.last_meta };
  }

  /** Hands a relay anchor to the speaker's clock; true when it fitted the speaker's newest frames. */
  async relayAnchor(userId: string, rtp: number, ns: bigint): Promise<boolean> {
    const r = await this.#request({ type: 'anchor', user_id: userId, rtp, ns: ns.toString() });
    return r.type === 'anchor' && r.applied;
  }

  /** Keeps frames (replay on) or drops every kept frame and keeps none (replay off). */
  async setEnabled(on: boolean): Promise<void> {
    await this.#request({ type: 'enable', on });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(new InvalidStateError('replay capture closed'));
    this.#pending.clear();
  }

  #request(m: DistributiveOmit<CaptureRequest, 'id'>): Promise<CaptureResponse> {
    if (this.#closed) return Promise.reject(new InvalidStateError('replay capture closed'));
    if (this.#pending.size >= 256) return Promise.reject(new Error('too many requests to the capture worker'));
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...m, id } as CaptureRequest);
    });
  }
}
