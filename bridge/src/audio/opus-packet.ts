/**
 * Reading an Opus packet's TOC byte (RFC 6716 §3.1) without decoding it: frame duration, frame count,
 * mode, and whether a SILK layer carries in-band FEC (LBRR) for the previous packet.
 */

export type OpusMode = 'silk' | 'hybrid' | 'celt';

/** Discord's "silence" frame sent five times after a talk-spurt. */
export function isOpusSilenceFrame(packet: Uint8Array): boolean {
  return packet.byteLength === 3 && packet[0] === 0xf8 && packet[1] === 0xff && packet[2] === 0xfe;
}

export function opusMode(toc: number): OpusMode {
  const config = toc >> 3;
  if (config < 12) return 'silk';
  if (config < 16) return 'hybrid';
  return 'celt';
}

/** Samples per frame at 48 kHz for a TOC byte. */
export function opusSamplesPerFrame(toc: number): number {
  const config = toc >> 3;
  if (config >= 16) return 120 << (config & 3); // CELT: 2.5, 5, 10, 20 ms
  if (config >= 12) return (config & 1) === 0 ? 480 : 960; // hybrid: 10, 20 ms
  const size = config & 3; // SILK: 10, 20, 40, 60 ms
  return size === 3 ? 2880 : 480 << size;
}

/** Frames in the packet (code 0: 1, code 1/2: 2, code 3: from the second byte). Undefined if malformed. */
export function opusFrameCount(packet: Uint8Array): number | undefined {
  if (packet.byteLength < 1) return undefined;
  const code = packet[0]! & 3;
  if (code === 0) return 1;
  if (code !== 3) return 2;
  if (packet.byteLength < 2) return undefined;
  const count = packet[1]! & 0x3f;
  return count === 0 ? undefined : count;
}

/** Total samples per channel at 48 kHz, or undefined for a malformed packet. */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  const frames = opusFrameCount(packet);
  if (frames === undefined) return undefined;
  const samples = frames * opusSamplesPerFrame(packet[0]!);
  return samples > 5760 ? undefined : samples;
}

/**
 * True when the packet's first SILK frame signals LBRR (in-band FEC) data. The SILK header's first
 * range-coded bits are equiprobable flags: per channel, one VAD flag per 20 ms sub-frame then the LBRR
 * flag, so they can be read straight from the first byte of the first frame.
 */
export function opusHasLbrr(packet: Uint8Array): boolean {
  if (packet.byteLength < 2) return false;
  const toc = packet[0]!;
  if (opusMode(toc) === 'celt') return false;
  const code = toc & 3;
  let at = 1;
  if (code === 2) {
    const b = packet[1];
    if (b === undefined) return false;
    at = b < 252 ? 2 : 3;
  } else if (code === 3) {
    if (packet.byteLength < 3) return false;
    const padded = (packet[1]! & 0x40) !== 0;
    const vbr = (packet[1]! & 0x80) !== 0;
    if (padded || vbr) return true; // too costly to walk here; let the decoder decide
    at = 2;
  }
  const first = packet[at];
  if (first === undefined) return false;
  const frameSamples = opusSamplesPerFrame(toc);
  const silkFrames = Math.max(1, frameSamples / 960);
  const stereo = (toc & 4) !== 0;
  const mid = (first >> (7 - silkFrames)) & 1;
  if (mid) return true;
  if (stereo) return ((first >> (6 - 2 * silkFrames)) & 1) === 1;
  return false;
}

/** RFC 6716 §3.2.1: no Opus frame is longer than 1275 bytes. */
export const OPUS_MAX_FRAME_BYTES = 1275;

/**
 * The largest packet of `frames` frames RFC 6716 allows: the TOC byte, the code 3 frame-count byte and
 * up to two length bytes per frame, plus 1275 bytes per frame (padding is not counted as allowed:
 * playback packets have none worth keeping).
 */
export function opusMaxPacketBytes(frames: number): number {
  return 2 + frames * (OPUS_MAX_FRAME_BYTES + 2);
}

/**
 * Why a packet cannot be played, or undefined when its size is within the Opus limits: empty, a
 * malformed TOC/frame count, more than 120 ms, or more bytes than its frames may hold.
 */
export function opusPacketSizeProblem(packet: Uint8Array): string | undefined {
  if (packet.byteLength === 0) return 'an empty Opus packet';
  const frames = opusFrameCount(packet);
  if (frames === undefined || opusPacketSamples(packet) === undefined) return 'a malformed Opus packet (bad frame count or longer than 120 ms)';
  const max = frames === 1 && (packet[0]! & 3) === 0 ? 1 + OPUS_MAX_FRAME_BYTES : opusMaxPacketBytes(frames);
  if (packet.byteLength > max) return `an Opus packet of ${packet.byteLength} bytes with ${frames} frame(s) is over the Opus maximum of ${OPUS_MAX_FRAME_BYTES} bytes per frame (at most ${max} bytes)`;
  return undefined;
}
