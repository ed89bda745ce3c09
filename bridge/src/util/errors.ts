/** Typed errors of the voice bridge. Each extends the shared {@link PrometheanError} so it can cross processes. */
import { PrometheanError } from '@promethean/shared';

/** libopus could not be found or loaded (install Debian's `libopus0`). */
export class OpusLibraryMissingError extends PrometheanError {
  override name = 'OpusLibraryMissingError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('unsupported', message, options);
  }
}

/** libopus returned a negative status. `status` is the libopus error code (OPUS_BAD_ARG = -1, …). */
export class OpusError extends PrometheanError {
  override name = 'OpusError';
  readonly status: number;
  constructor(operation: string, status: number) {
    super('internal', `${operation} failed: ${opusErrorName(status)} (${status})`);
    this.status = status;
  }
}

/** A UDP datagram that is not a well-formed RTP packet, or one that failed to decrypt. */
export class MalformedPacketError extends PrometheanError {
  override name = 'MalformedPacketError';
  readonly reason: 'short' | 'version' | 'payload_type' | 'header' | 'decrypt' | 'padding';
  constructor(reason: MalformedPacketError['reason'], message: string, options: { cause?: unknown } = {}) {
    super('bad_frame', message, options);
    this.reason = reason;
  }
}

/** An Opus packet given for playback that no Opus decoder would take (RFC 6716 §3.4: at most 1275 bytes per frame). */
export class OversizeOpusPacketError extends PrometheanError {
  override name = 'OversizeOpusPacketError';
  readonly bytes: number;
  constructor(bytes: number, message: string) {
    super('oversize', message, { path: 'payload.attachment' });
    this.bytes = bytes;
  }
}

const OPUS_ERROR_NAMES: Record<number, string> = {
  [-1]: 'OPUS_BAD_ARG',
  [-2]: 'OPUS_BUFFER_TOO_SMALL',
  [-3]: 'OPUS_INTERNAL_ERROR',
  [-4]: 'OPUS_INVALID_PACKET',
  [-5]: 'OPUS_UNIMPLEMENTED',
  [-6]: 'OPUS_INVALID_STATE',
  [-7]: 'OPUS_ALLOC_FAIL',
};

export function opusErrorName(status: number): string {
  return OPUS_ERROR_NAMES[status] ?? 'OPUS_UNKNOWN_ERROR';
}
