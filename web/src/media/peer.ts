/**
 * The receive-only peer connection behind a listener. The SFU offers (ICE candidates included);
 * the page answers once its own ICE gathering completed (or after a short bound), no trickle.
 * `PeerSession` is the interface the listener depends on; `createBrowserPeer` is the browser's.
 */
import { mapTracks, type OfferedTrack, type SpeakerTrack } from './mids.ts';

export interface PeerSession {
  readonly connectionState: RTCPeerConnectionState;
  /** Called on every connection state change. */
  onstatechange: ((state: RTCPeerConnectionState) => void) | null;
  /** Applies an offer and returns the local answer SDP, ICE candidates included. */
  answer(offerSdp: string): Promise<string>;
  /** The speakers' receiving tracks for the offered mids. */
  tracks(offered: readonly OfferedTrack[]): SpeakerTrack<MediaStreamTrack>[];
  /** Idempotent. */
  close(): void;
}

export interface PeerOptions {
  /** Longest wait for ICE gathering before answering with what was gathered. */
  iceGatheringTimeoutMs: number;
}

export const defaultPeerOptions: PeerOptions = { iceGatheringTimeoutMs: 2000 };

export function createBrowserPeer(options: Partial<PeerOptions> = {}): PeerSession {
  const o = { ...defaultPeerOptions, ...options };
  // No ICE servers: the SFU is reachable directly (same host or LAN) and offers its candidates.
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  let closed = false;
  const session: PeerSession = {
    get connectionState() {
      return pc.connectionState;
    },
    onstatechange: null,
    async answer(offerSdp) {
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await iceGatheringComplete(pc, o.iceGatheringTimeoutMs);
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('no local description after answering');
      return sdp;
    },
    tracks(offered) {
      return mapTracks(
        pc.getTransceivers().map((t) => ({ mid: t.mid, direction: t.direction, currentDirection: t.currentDirection ?? null, track: t.receiver.track })),
        offered,
      );
    },
    close() {
      if (closed) return;
      closed = true;
      pc.onconnectionstatechange = null;
      session.onstatechange = null;
      pc.close();
    },
  };
  pc.onconnectionstatechange = () => session.onstatechange?.(pc.connectionState);
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
