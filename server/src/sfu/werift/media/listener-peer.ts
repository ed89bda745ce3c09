/**
 * One listener inside the media process: a werift RTCPeerConnection where the server is the offerer,
 * with one sendonly audio transceiver ("slot") per producer. Dropping a producer detaches its track
 * and makes the slot inactive; a later producer reuses an inactive slot before a new m-line is added,
 * so the SDP does not grow with every speaker who ever joined.
 */
import { RTCPeerConnection, type MediaStreamTrack, type RTCPeerConnectionConfig, type RTCRtpTransceiver } from 'werift';
import { InvalidStateError, SfuError } from '../../errors.ts';
import type { SfuConnectionState, SfuOffer, SfuTrackInfo } from '../../types.ts';
import { announceCandidates } from './candidates.ts';
import type { ProducerSource } from './producer-source.ts';

interface Slot {
  transceiver: RTCRtpTransceiver;
  source: ProducerSource | null;
  track: MediaStreamTrack | null;
}

export interface ListenerPeerOptions {
  config: RTCPeerConnectionConfig;
  announcedAddress: string | undefined;
}

export class ListenerPeer {
  readonly id: string;
  readonly routerId: string;
  /** Told on every peer connection state change. */
  onConnectionState: (state: SfuConnectionState) => void = () => undefined;
  readonly #pc: RTCPeerConnection;
  readonly #announcedAddress: string | undefined;
  readonly #slots: Slot[] = [];
  readonly #watchedTransports = new WeakSet<object>();
  /** setProducers / answer run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(id: string, routerId: string, options: ListenerPeerOptions) {
    this.id = id;
    this.routerId = routerId;
    this.#announcedAddress = options.announcedAddress;
    this.#pc = new RTCPeerConnection(options.config);
    this.#pc.connectionStateChange.subscribe((state) => {
      if (!this.#closed) this.onConnectionState(state);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Makes the slots match `sources` and returns a new offer (ICE gathering completed). */
  setProducers(sources: readonly ProducerSource[], skipped: string[]): Promise<SfuOffer> {
    return this.#serial(async () => {
      this.#assertOpen();
      const pc = this.#pc;
      // An offer nobody answered yet is replaced by this one.
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
      const wanted = new Set(sources);
      for (const slot of this.#slots) {
        if (slot.source && (!wanted.has(slot.source) || slot.source.closed)) await this.#release(slot);
      }
      for (const source of sources) {
        if (this.#slots.some((s) => s.source === source)) continue;
        const track = source.cloneTrack();
        const free = this.#slots.find((s) => s.source === null);
        if (free) {
          free.source = source;
          free.track = track;
          await free.transceiver.sender.replaceTrack(track);
          free.transceiver.setDirection('sendonly');
        } else {
          const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
          this.#slots.push({ transceiver, source, track });
        }
      }
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      this.#watchDtls();
      const sdp = pc.localDescription?.sdp;
      if (sdp === undefined) throw new SfuError('werift produced no local description');
      return { kind: 'sdp', sdp: announceCandidates(sdp, this.#announcedAddress), tracks: this.tracks(), skipped };
    });
  }

  /** Applies the browser's answer to the pending offer. */
  answer(sdp: string): Promise<void> {
    return this.#serial(async () => {
      this.#assertOpen();
      if (this.#pc.signalingState !== 'have-local-offer') {
        throw new InvalidStateError(`listener ${this.id} has no offer awaiting an answer`);
      }
      try {
        await this.#pc.setRemoteDescription({ type: 'answer', sdp });
      } catch (error) {
        throw new SfuError(`listener ${this.id}: answer refused: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
          code: 'schema',
        });
      }
    });
  }

  /** m-lines that carry a producer (mid assigned by the last offer). */
  tracks(): SfuTrackInfo[] {
    const out: SfuTrackInfo[] = [];
    for (const slot of this.#slots) {
      if (slot.source && slot.transceiver.mid !== null) {
        out.push({ mid: slot.transceiver.mid, producerId: slot.source.id, userId: slot.source.userId });
      }
    }
    return out;
  }

  /** Closes the peer connection (werift sends DTLS close and stops its ICE checks). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) slot.track?.stop();
    await this.#pc.close();
  }

  /**
   * A browser that closes its peer connection sends a DTLS close alert; werift marks the DTLS
   * transport closed but keeps the connection state (it follows ICE) until consent expires (~30 s).
   * Report `closed` at once instead.
   */
  #watchDtls(): void {
    for (const dtls of this.#pc.dtlsTransports) {
      if (this.#watchedTransports.has(dtls)) continue;
      this.#watchedTransports.add(dtls);
      dtls.onStateChange.subscribe((state) => {
        if (state === 'closed' && !this.#closed) this.onConnectionState('closed');
      });
    }
  }

  async #release(slot: Slot): Promise<void> {
    slot.source = null;
    const track = slot.track;
    slot.track = null;
    await slot.transceiver.sender.replaceTrack(null);
    track?.stop();
    slot.transceiver.setDirection('inactive');
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`listener ${this.id} is closed`);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
