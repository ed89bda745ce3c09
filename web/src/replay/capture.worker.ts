/**
 * The capture worker: every received speaker track's encoded Opus frames pass through here on their
 * way to the decoder (an `RTCRtpScriptTransform` on each receiver), untouched and in order; a copy of
 * each, with its RTP timestamp, goes to that speaker's ring in {@link CaptureStore}. The page asks
 * for stats and clips by message. Nothing leaves the browser's memory.
 */
import { CaptureStore } from './capture-store.ts';
import type { CaptureRequest, CaptureResponse, CaptureTransformOptions } from './protocol.ts';
import { epochNs } from './rtp-clock.ts';

/** The parts of the encoded-transform API used here (a worker global the DOM typings lack). */
interface EncodedAudioFrame {
  data: ArrayBuffer;
  /** The RTP timestamp (older Chromium spelling, still present). */
  readonly timestamp?: number;
  getMetadata(): { synchronizationSource?: number; rtpTimestamp?: number; receiveTime?: number };
}
interface RtcTransformer {
  readonly readable: ReadableStream<EncodedAudioFrame>;
  readonly writable: WritableStream<EncodedAudioFrame>;
  readonly options: CaptureTransformOptions;
}
interface WorkerScope {
  onrtctransform: ((ev: { transformer: RtcTransformer }) => void) | null;
  onmessage: ((ev: MessageEvent<CaptureRequest>) => void) | null;
  postMessage(message: CaptureResponse, transfer?: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;
const store = new CaptureStore();
let malformed = 0;
let transforms = 0;
let frames = 0;
let lastMeta: string | null = null;

scope.onrtctransform = (ev) => {
  const t = ev.transformer;
  transforms++;
  const userId = t.options.user_id;
  const keep = new TransformStream<EncodedAudioFrame, EncodedAudioFrame>({
    transform(frame, controller) {
      try {
        const meta = frame.getMetadata();
        if (frames++ % 500 === 0) lastMeta = JSON.stringify({ ...meta, timestamp: frame.timestamp });
        const rtp = meta.rtpTimestamp ?? frame.timestamp;
        if (typeof rtp === 'number') {
          store.add({
            user_id: userId,
            ssrc: meta.synchronizationSource ?? 0,
            rtp,
            receive_ns: epochNs(performance.timeOrigin, performance.now()),
            data: new Uint8Array(frame.data.slice(0)),
          });
        } else malformed++;
      } catch {
        malformed++; // a frame that cannot be read is still passed on: the moderator keeps hearing
      }
      controller.enqueue(frame);
    },
  });
  void t.readable.pipeThrough(keep).pipeTo(t.writable).catch(() => undefined);
};

scope.onmessage = (ev) => {
  const m = ev.data;
  try {
    switch (m.type) {
      case 'stats':
        scope.postMessage({ type: 'stats', id: m.id, stats: store.stats() });
        return;
      case 'clip': {
        const { frames, rate } = store.clip(m.user_id, BigInt(m.from_ns), BigInt(m.to_ns));
        scope.postMessage({ type: 'clip', id: m.id, user_id: m.user_id, from_ns: m.from_ns, to_ns: m.to_ns, rate, frames }, frames.map((f) => f.data));
        return;
      }
      case 'diag':
        scope.postMessage({ type: 'diag', id: m.id, transforms, frames, unreadable: malformed, last_meta: lastMeta });
        return;
      case 'enable':
        store.setEnabled(m.on);
        scope.postMessage({ type: 'ok', id: m.id });
        return;
      case 'anchor':
        scope.postMessage({ type: 'anchor', id: m.id, applied: store.relayAnchor(m.user_id, m.rtp, BigInt(m.ns)) });
        return;
      case 'forget':
        store.forget(m.user_id);
        scope.postMessage({ type: 'ok', id: m.id });
        return;
      default:
        scope.postMessage({ type: 'error', id: (m as { id?: number }).id ?? -1, message: `unknown request ${(m as { type?: string }).type} (${malformed} unreadable frames so far)` });
    }
  } catch (error) {
    scope.postMessage({ type: 'error', id: m.id, message: (error as Error).message });
  }
};
