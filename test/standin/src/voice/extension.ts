/**
 * Extension points of the stand-in's voice server, so end-to-end encryption (DAVE, in `../dave/`) or
 * any other experiment plugs in without editing the voice server. Every callback is optional; a throw
 * inside one is caught, counted (`extensionErrors`) and reported through the stand-in's logger.
 *
 * Order of events for one client: `onIdentify` (op 0) → op 2 Ready → client's op 1 → op 4 Session
 * Description (fields from `sessionDescription` merged in) → op 11 Clients Connect (other users in the
 * channel) → `onClientReady` → op 5 Speaking for whoever is talking → undocumented ops.
 */

/** One connected voice client (a bot using @discordjs/voice, or a raw test client). */
export interface VoiceClientHandle {
  readonly userId: string;
  readonly sessionId: string;
  /** The audio ssrc the server gave this client in op 2. */
  readonly ssrc: number;
  /** From op 0 Identify (0 when the client does not offer DAVE). */
  readonly maxDaveProtocolVersion: number;
  /** True once op 4 Session Description was sent (transport keys exist). */
  readonly ready: boolean;
  /** Sends `{ op, d, seq }` (the session's next seq). */
  sendJson(op: number, d: unknown): void;
  /** Sends a binary message `u16 BE seq | u8 op | payload` (the session's next seq). */
  sendBinary(op: number, payload: Uint8Array): void;
  /** Closes the voice WebSocket with a close code. */
  close(code: number, reason?: string): void;
}

/** A simulated speaker as the voice server knows it. */
export interface SpeakerHandle {
  readonly name: string;
  readonly userId: string;
  readonly ssrc: number;
}

/** Read-only view of the voice server given to extensions when the stand-in starts. */
export interface VoiceServerView {
  readonly guildId: string;
  readonly channelId: string;
  /** Clients with an open voice session. */
  clients(): VoiceClientHandle[];
  /** Speakers currently in the channel. */
  speakers(): SpeakerHandle[];
  /** Every user id in the voice channel (bots and speakers). */
  usersInChannel(): string[];
  /** Reports a message through the stand-in's logger. */
  log(message: string): void;
}

export interface VoiceServerExtension {
  readonly name: string;
  /** Called once when the stand-in starts. */
  attach?(view: VoiceServerView): void | Promise<void>;
  /** A client identified (op 0). `identify` is the raw `d`, `max_dave_protocol_version` included. */
  onIdentify?(client: VoiceClientHandle, identify: Record<string, unknown>): void;
  /** Fields merged into op 4 Session Description, e.g. `{ dave_protocol_version: 1 }`. */
  sessionDescription?(client: VoiceClientHandle): Record<string, unknown> | undefined;
  /** After op 4 and op 11 were sent to this client. */
  onClientReady?(client: VoiceClientHandle): void;
  /** A client JSON op the server does not handle itself (DAVE 23, 31, …). Return true when handled. */
  onJson?(client: VoiceClientHandle, op: number, d: unknown): boolean | void;
  /** A binary message from a client (`u8 op | payload`, e.g. DAVE 26 and 28). */
  onBinary?(client: VoiceClientHandle, op: number, payload: Uint8Array): void;
  /** A client's voice session ended for good (left, rejected, or closed without resuming). */
  onClientGone?(client: VoiceClientHandle): void;
  /** A user (speaker or bot) joined the voice channel. */
  onMemberJoin?(userId: string): void;
  /** A user left the voice channel. */
  onMemberLeave?(userId: string): void;
  /**
   * A speaker's frame before transport encryption, once per frame (every recipient gets the result).
   * The Opus silence frame `F8 FF FE` passes through here too; leave it as is for DAVE.
   */
  transformSpeakerFrame?(speaker: SpeakerHandle, frame: Uint8Array): Uint8Array;
  /** A client's frame after transport decryption (DAVE: decrypt the E2EE layer). Throw when it cannot. */
  transformClientFrame?(client: VoiceClientHandle, frame: Uint8Array): Uint8Array;
  /** The stand-in is closing. */
  close?(): void | Promise<void>;
}
