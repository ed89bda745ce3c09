/**
 * The bridge's end-to-end (DAVE) layer on receive. The library's own DAVESession keeps the MLS group and
 * answers the voice server; this guard stands between it and the receive path so that a decrypt failure
 * never costs a speaker's stream and a stuck group recovers by itself:
 *
 * - Every frame is checked before and after the library: a frame it hands back still carrying the DAVE
 *   trailer (its session not ready, re-initialising) counts as a failure, never as Opus.
 * - Unencrypted frames (no `FA FA` trailer) are accepted within a bounded passthrough window, as real
 *   clients send them: during a protocol transition (op 21 / op 24), after the bridge's own session
 *   started or re-initialised, and from a member that just connected (op 11) or reappeared on a new
 *   ssrc, whose keys have not arrived yet. Outside every window they are dropped and counted.
 * - Recovery without waiting for the library: an op 22 execute for a transition whose commit or
 *   welcome never arrived, or a run of undecryptable encrypted frames with no success from anyone in
 *   between (a missed commit, transition id 0 included, which the library treats as "none" and never
 *   recovers from), makes the bridge call the library's public `recoverFromInvalidTransition()`: it
 *   sends op 31 and a new key package, and the voice server removes and re-adds the bot.
 *
 * Why not the library's own handling: its decrypt counts failures only outside transitions, throws
 * forever once its tolerance is spent after a transition id 0, and rejects unencrypted frames from a
 * member not yet in the group (discord.js issues 11419, 11445).
 */
import type { DAVESession, VoiceWebSocket } from '@discordjs/voice';

export interface DaveGuardOptions {
  /** How long unencrypted frames are accepted once a passthrough window opens, in ms (libdave's transition expiry is 10 s). */
  passthroughWindowMs: number;
  /** Undecryptable encrypted frames in a row (no success from anyone in between) that make the bridge recover… */
  failureStreak: number;
  /** …once the run has also lasted this long, in ms (a few failures around a transition are normal). */
  failureStreakMs: number;
  /** While the bridge is in no group yet, how long encrypted frames it cannot read may go on before it recovers, in ms. */
  notReadyRecoveryMs: number;
  /** Least time between two recoveries of the bridge's own, in ms (a transition ends the wait early). */
  recoveryCooldownMs: number;
  /**
   * Once a run of failures calls for recovery, wait this long (ms) and recover only if the run is still
   * on: a starved event loop can read a burst of new-epoch packets before the commit (op 29) that was
   * already waiting on the WebSocket. 0 recovers at once.
   */
  confirmMs: number;
  /** Most members with an open passthrough window, and most transition ids remembered. */
  maxTracked: number;
}

export const defaultDaveGuardOptions: DaveGuardOptions = {
  passthroughWindowMs: 10_000,
  failureStreak: 10,
  failureStreakMs: 200,
  notReadyRecoveryMs: 3000,
  recoveryCooldownMs: 3000,
  confirmMs: 100,
  maxTracked: 256,
};

export interface DaveGuardCounters {
  /** Encrypted frames that could not be decrypted (dropped, the stream kept). */
  decryptFailures: number;
  /** Unencrypted frames accepted within a passthrough window. */
  passthroughFrames: number;
  /** Unencrypted frames outside every window (dropped). */
  unencryptedRejected: number;
  /** Transitions executed (the connection's `transitioned` event). */
  transitions: number;
  /** Recoveries the bridge started itself (op 31 + re-initialisation). */
  recoveries: number;
  /** op 31 sent for any reason (the library's own recovery after a bad commit or welcome included). */
  invalidCommits: number;
  /** Errors the library's DAVE session threw out of its WebSocket handler (caught by dave-errors.ts). */
  libraryErrors: number;
}

/** Why the bridge recovered, for health. */
export type DaveRecoveryReason = 'missed-announce' | 'undecryptable' | 'no-group' | 'library-error';

/** The `dave` block of `voice.health`. */
export interface DaveHealth {
  protocol_version: number;
  epoch: number | null;
  transitions: number;
  decrypt_failures: number;
  passthrough_frames: number;
  unencrypted_rejected: number;
  recoveries: number;
  invalid_commits: number;
}

const SILENCE_0 = 0xf8, SILENCE_1 = 0xff, SILENCE_2 = 0xfe;
const MARKER = 0xfa;

/** The exact Opus silence frame `F8 FF FE`, never end-to-end encrypted. */
export function isOpusSilence(frame: Uint8Array): boolean {
  return frame.length === 3 && frame[0] === SILENCE_0 && frame[1] === SILENCE_1 && frame[2] === SILENCE_2;
}

/**
 * Whether a frame carries the DAVE trailer: `… | supplemental size (u8) | FA FA`, the size covering at
 * least the tag, nonce, size byte and marker (DAVE protocol, "Frame format") and no more than the frame.
 */
export function hasDaveTrailer(frame: Uint8Array): boolean {
  const n = frame.length;
  if (n < 3 || frame[n - 1] !== MARKER || frame[n - 2] !== MARKER) return false;
  const supplemental = frame[n - 3]!;
  return supplemental >= 11 && supplemental <= n;
}

interface WsLike {
  on(event: 'packet', l: (packet: { op?: unknown; d?: unknown }) => void): unknown;
  on(event: 'binary', l: (message: { op: number; payload: Buffer }) => void): unknown;
  off(event: string, l: (...args: never[]) => void): unknown;
}

export class DaveGuard {
  readonly options: DaveGuardOptions;
  readonly counters: DaveGuardCounters = { decryptFailures: 0, passthroughFrames: 0, unencryptedRejected: 0, transitions: 0, recoveries: 0, invalidCommits: 0, libraryErrors: 0 };
  /** The latest recoveries of the bridge's own, newest last (at most 8), for health. */
  readonly recoveryLog: { reason: DaveRecoveryReason; transitionId: number; atMs: number }[] = [];
  /** Whether a DAVE session with a protocol version above 0 was ever bound (health shows the block then). */
  everActive = false;
  private dave: DAVESession | undefined;
  private ws: WsLike | undefined;
  private readonly nowMs: () => number;
  private windowAllUntil = 0;
  /** user id → end of that member's passthrough window (ms). */
  private readonly windows = new Map<string, number>();
  /** Transition ids announced to the bridge (op 21, 29, 30) and not executed yet. */
  private readonly announced = new Set<number>();
  private streak = 0;
  private streakStartMs = 0;
  private cooldownUntil = 0;
  private confirmTimer: NodeJS.Timeout | undefined;

  constructor(nowMs: () => number, options: Partial<DaveGuardOptions> = {}) {
    this.nowMs = nowMs;
    this.options = { ...defaultDaveGuardOptions, ...options };
  }

  /** The connection's DAVE session and voice WebSocket (undefined while not Ready / Resuming). */
  bind(dave: DAVESession | undefined, ws: VoiceWebSocket | undefined): void {
    const w = ws as unknown as WsLike | undefined;
    if (w !== this.ws) {
      this.ws?.off('packet', this.onPacket);
      this.ws?.off('binary', this.onBinary);
      this.ws = w;
      w?.on('packet', this.onPacket);
      w?.on('binary', this.onBinary);
    }
    if (dave === this.dave) return;
    this.dave?.off('invalidateTransition', this.onInvalidate);
    this.dave = dave;
    if (dave) {
      dave.on('invalidateTransition', this.onInvalidate);
      if (dave.protocolVersion > 0) this.everActive = true;
      // a new session: nobody's keys are known yet
      this.openAll();
      this.announced.clear();
      this.streak = 0;
    }
  }

  /** End-to-end decryption of one frame from `userId` (an {@link E2eeDecrypt}). Never throws. */
  decrypt = (userId: string, frame: Uint8Array): Uint8Array | null => {
    const dave = this.dave;
    if (dave === undefined || isOpusSilence(frame)) return frame;
    if (dave.protocolVersion > 0) this.everActive = true;
    // transport encryption only, and never anything else in this session: leave every frame alone
    else if (!this.everActive) return frame;
    if (!hasDaveTrailer(frame)) {
      if (dave.protocolVersion === 0) return frame; // transport encryption only: nothing is end-to-end encrypted
      if (this.passthroughAllowed(userId)) {
        this.counters.passthroughFrames++;
        return frame;
      }
      this.counters.unencryptedRejected++;
      return null;
    }
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    let out: Buffer | null = null;
    try {
      out = dave.decrypt(buf, userId);
    } catch {
      out = null; // the library throws once its own tolerance is spent after transition id 0
    }
    // handed back untouched: its session is not ready or re-initialising
    if (out === null || out === buf || (out.length === buf.length && hasDaveTrailer(out))) {
      this.failure(dave);
      return null;
    }
    this.streak = 0;
    return out;
  };

  /** A member connected (op 11) or appeared on a new ssrc: its keys may not have arrived yet. */
  memberChanged(userId: string): void {
    if (this.windows.size >= this.options.maxTracked) this.prune();
    if (this.windows.size >= this.options.maxTracked) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.delete(userId);
    this.windows.set(userId, this.nowMs() + this.options.passthroughWindowMs);
  }

  /** The connection executed a transition (its `transitioned` event). */
  onTransitioned(): void {
    // The op 22 that caused it reaches onPacket after this (the library listens first); onPacket forgets the id.
    this.counters.transitions++;
    this.cooldownUntil = 0;
    this.streak = 0;
  }

  /**
   * The library's DAVE session threw while handling a voice server message (see dave-errors.ts): the
   * group state is out of step with the server's. Recover when the session is in a group.
   */
  onLibraryError(_error: Error): void {
    this.counters.libraryErrors++;
    const dave = this.dave;
    if (dave?.session?.ready) this.recover('library-error');
  }

  /** The `dave` block of `voice.health` (undefined when DAVE never ran). */
  health(): DaveHealth | undefined {
    if (!this.everActive) return undefined;
    const dave = this.dave;
    const epoch = (dave?.session as { epoch?: bigint | number | null } | undefined)?.epoch;
    return {
      protocol_version: dave?.protocolVersion ?? 0,
      epoch: epoch === undefined || epoch === null || !(dave?.session?.ready ?? false) ? null : Number(epoch),
      transitions: this.counters.transitions,
      decrypt_failures: this.counters.decryptFailures,
      passthrough_frames: this.counters.passthroughFrames,
      unencrypted_rejected: this.counters.unencryptedRejected,
      recoveries: this.counters.recoveries,
      invalid_commits: this.counters.invalidCommits,
    };
  }

  close(): void {
    if (this.confirmTimer !== undefined) clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    this.bind(undefined, undefined);
    this.windows.clear();
    this.announced.clear();
  }

  private passthroughAllowed(userId: string): boolean {
    const now = this.nowMs();
    if (now < this.windowAllUntil) return true;
    const until = this.windows.get(userId);
    return until !== undefined && now < until;
  }

  private openAll(): void {
    this.windowAllUntil = this.nowMs() + this.options.passthroughWindowMs;
  }

  private prune(): void {
    const now = this.nowMs();
    for (const [u, until] of this.windows) if (until <= now) this.windows.delete(u);
  }

  private failure(dave: DAVESession): void {
    this.counters.decryptFailures++;
    const now = this.nowMs();
    if (this.streak === 0) this.streakStartMs = now;
    this.streak++;
    const lasted = now - this.streakStartMs;
    const ready = dave.session?.ready ?? false;
    if (ready ? this.streak >= this.options.failureStreak && lasted >= this.options.failureStreakMs : lasted >= this.options.notReadyRecoveryMs) {
      const reason = ready ? 'undecryptable' : 'no-group';
      if (this.options.confirmMs <= 0) this.recover(reason);
      else if (this.confirmTimer === undefined) {
        const start = this.streakStartMs;
        this.confirmTimer = setTimeout(() => {
          this.confirmTimer = undefined;
          // still the same run (no success, no transition since): the commit really is missing
          if (this.streak > 0 && this.streakStartMs === start) this.recover(reason);
        }, this.options.confirmMs);
        this.confirmTimer.unref?.();
      }
    }
  }

  private recover(reason: DaveRecoveryReason): void {
    const dave = this.dave;
    const now = this.nowMs();
    if (dave === undefined || dave.protocolVersion === 0 || dave.session === undefined) return;
    if (dave.reinitializing || now < this.cooldownUntil) return; // the library is on it already, or we just did it
    this.cooldownUntil = now + this.options.recoveryCooldownMs;
    this.streak = 0;
    const transitionId = dave.lastTransitionId ?? 0;
    this.counters.recoveries++;
    this.recoveryLog.push({ reason, transitionId, atMs: now });
    if (this.recoveryLog.length > 8) this.recoveryLog.shift();
    // our session starts over: until the voice server re-adds us, nothing we get is ours to decrypt
    this.openAll();
    try {
      dave.recoverFromInvalidTransition(transitionId); // op 31 + a new key package, through the library's Networking
    } catch {
      // a session torn down underneath us; the next bind starts afresh
    }
  }

  private readonly onInvalidate = (): void => {
    this.counters.invalidCommits++;
  };

  private readonly onPacket = (packet: { op?: unknown; d?: unknown }): void => {
    try {
      const d = (packet.d ?? {}) as { user_ids?: unknown; transition_id?: unknown; epoch?: unknown };
      switch (packet.op) {
        case 11: // Clients Connect
          if (Array.isArray(d.user_ids)) for (const u of d.user_ids) if (typeof u === 'string') this.memberChanged(u);
          break;
        case 21: // Prepare Transition (protocol change)
          this.remember(d.transition_id);
          this.openAll();
          break;
        case 22: {
          // Execute Transition: one we never heard of means its commit or welcome never reached us
          const id = d.transition_id;
          if (typeof id === 'number' && id !== 0 && !this.announced.has(id)) this.recover('missed-announce');
          if (typeof id === 'number') this.announced.delete(id);
          break;
        }
        case 24: // Prepare Epoch: epoch 1 is a new group
          if (d.epoch === 1) this.openAll();
          break;
      }
    } catch {
      // a malformed op is the library's to refuse; it must not reach the WebSocket's emitter
    }
  };

  private readonly onBinary = (message: { op: number; payload: Buffer }): void => {
    // 29 Announce Commit, 30 Welcome: u16 transition id, then the body
    if ((message.op === 29 || message.op === 30) && message.payload.length >= 2) this.remember(message.payload.readUInt16BE(0));
  };

  private remember(id: unknown): void {
    if (typeof id !== 'number' || !Number.isInteger(id) || id === 0) return;
    if (this.announced.size >= this.options.maxTracked) {
      const oldest = this.announced.values().next().value;
      if (oldest !== undefined) this.announced.delete(oldest);
    }
    this.announced.add(id);
  }
}
