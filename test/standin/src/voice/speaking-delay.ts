/**
 * The "late op 5" fault: a speaker's next talk-spurt is announced (Speaking op 5, the only source of
 * ssrc → user for clients) only `delayMs` after its first packet went out, instead of just before it.
 * Real Discord sends op 5 on the WebSocket and RTP on UDP, so clients do see the first packets of a
 * spurt before its op 5; this makes that deterministic. One-shot: later spurts are announced as usual.
 */
import { performance } from 'node:perf_hooks';
import { InvalidStateError } from '@promethean/shared';
import type { SpeakerHandle } from './extension.ts';

/** What happened to one delayed op 5 (the promise `Faults.delaySpeaking()` returns resolves with it). */
export interface DelayedSpeaking {
  userId: string;
  ssrc: number;
  /** False when the speaker left, or the stand-in closed, before op 5 was due: it was never sent. */
  sent: boolean;
  /** RTP sequence number of the first packet of the spurt (undefined when none went out). */
  firstSequence: number | undefined;
  /** Packets of the speaker that went out before op 5. */
  packetsBefore: number;
  /** ms from the first packet to op 5 (at least the delay asked for). */
  afterFirstPacketMs: number;
}

interface Armed {
  speaker: SpeakerHandle;
  delayMs: number;
  spurtStarted: boolean;
  firstSequence: number | undefined;
  firstAt: number;
  packetsBefore: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (result: DelayedSpeaking) => void;
}

export class SpeakingDelays {
  readonly #armed = new Map<string, Armed>();
  readonly #announce: (speaker: SpeakerHandle) => void;

  /** `announce` sends op 5 for the speaker to every ready client (and marks it talking). */
  constructor(announce: (speaker: SpeakerHandle) => void) {
    this.#announce = announce;
  }

  /** Arms the fault for the speaker's next talk-spurt. Throws InvalidStateError when one is armed already. */
  arm(speaker: SpeakerHandle, delayMs: number): Promise<DelayedSpeaking> {
    if (this.#armed.has(speaker.userId)) throw new InvalidStateError(`a delayed op 5 is already armed for ${speaker.name}`);
    return new Promise((resolve) => {
      this.#armed.set(speaker.userId, { speaker, delayMs, spurtStarted: false, firstSequence: undefined, firstAt: 0, packetsBefore: 0, timer: undefined, resolve });
    });
  }

  /** A talk-spurt starts: true when its op 5 must wait (send nothing now). */
  holdsSpurtStart(speaker: SpeakerHandle): boolean {
    const a = this.#armed.get(speaker.userId);
    if (!a) return false;
    a.spurtStarted = true;
    return true;
  }

  /** One of the speaker's packets went out to `recipients` clients. */
  onSent(speaker: SpeakerHandle, sequence: number, recipients: number): void {
    const a = this.#armed.get(speaker.userId);
    if (!a || !a.spurtStarted || recipients === 0) return;
    a.packetsBefore++;
    if (a.timer) return;
    a.firstSequence = sequence;
    a.firstAt = performance.now();
    a.timer = setTimeout(() => this.#fire(a), a.delayMs);
  }

  /** The speaker left: its op 5 is never sent. */
  onLeft(speaker: SpeakerHandle): void {
    const a = this.#armed.get(speaker.userId);
    if (a) this.#settle(a, false);
  }

  close(): void {
    for (const a of [...this.#armed.values()]) this.#settle(a, false);
  }

  #fire(a: Armed): void {
    if (this.#armed.get(a.speaker.userId) !== a) return;
    this.#settle(a, true);
    this.#announce(a.speaker);
  }

  #settle(a: Armed, sent: boolean): void {
    clearTimeout(a.timer);
    this.#armed.delete(a.speaker.userId);
    a.resolve({
      userId: a.speaker.userId,
      ssrc: a.speaker.ssrc,
      sent,
      firstSequence: a.firstSequence,
      packetsBefore: a.packetsBefore,
      afterFirstPacketMs: a.firstSequence === undefined ? 0 : performance.now() - a.firstAt,
    });
  }
}
