/**
 * The `sdp` media session (werift driver): one receive-only `RTCPeerConnection`. The SFU offers (ICE
 * candidates included); the page answers once its own ICE gathering completed (or after a short
 * bound), no trickle. A transceiver's negotiated mid names the speaker (see `mids.ts`).
 */
import { InvalidStateError, UnsupportedError } from '../errors.ts';
import type { MediaConnectionState, MediaSession, OnReceiver } from './media-session.ts';
import { mapTracks, type OfferedTrack } from './mids.ts';

export interface PeerOptions {
  /** Longest wait for ICE gathering before answering with what was gathered. */
  iceGatheringTimeoutMs: number;
  /** Called with each offered speaker's receiver right after the offer is applied, before the answer. */
  onReceiver: OnReceiver | null;
}

export const defaultPeerOptions: PeerOptions = { iceGatheringTimeoutMs: 2000, onReceiver: null };

export function createSdpSession(options: Partial<PeerOptions> = {}): MediaSession {
  const o = { ...defaultPeerOptions, ...options };
  // No ICE servers: the SFU is reachable directly (same host or LAN) and offers its candidates.
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  let offered: OfferedTrack[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const session: MediaSession = {
    kind: 'sdp',
    get connectionState() {
      return pc.connectionState as MediaConnectionState;
    },
    onstatechange: null,
    apply(offer) {
      const run = queue.then(async () => {
        if (closed) throw new InvalidStateError('the peer connection is closed');
        if (offer.kind !== 'sdp') throw new UnsupportedError(`an SDP session cannot take a ${offer.kind} offer`);
        await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
        if (o.onReceiver) {
          for (const t of offer.tracks) {
            const tr = pc.getTransceivers().find((x) => x.mid === t.mid);
            if (tr) o.onReceiver(t.user_id, t.mid, tr.receiver);
          }
        }
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        await iceGatheringComplete(pc, o.iceGatheringTimeoutMs);
        const sdp = pc.localDescription?.sdp;
        if (!sdp) throw new Error('no local description after answering');
        offered = offer.tracks;
        return { kind: 'sdp' as const, sdp };
      });
      queue = run.catch(() => undefined);
      return run;
    },
    tracks() {
      if (closed) return [];
      const transceivers = pc.getTransceivers();
      return mapTracks(
        transceivers.map((t) => ({ mid: t.mid, direction: t.direction, currentDirection: t.currentDirection ?? null, track: t.receiver.track })),
        offered,
      ).map((s) => ({ ...s, receiver: transceivers.find((t) => t.mid === s.mid)?.receiver }));
    },
    close() {
      if (closed) return;
      closed = true;
      pc.onconnectionstatechange = null;
      session.onstatechange = null;
      pc.close();
    },
  };
  pc.onconnectionstatechange = () => session.onstatechange?.(pc.connectionState as MediaConnectionState);
  return session;
}

/** Resolves when gathering is complete, or after `timeoutMs` (an answer with host candidates is enough). */
function iceGatheringComplete(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onChange);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const onCandidate = (ev: RTCPeerConnectionIceEvent) => {
      if (ev.candidate === null) done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
    pc.addEventListener('icecandidate', onCandidate);
  });
}
