/**
 * WAV decoding for offline analysis (the CLI, evidence clips in the browser): RIFF/WAVE with PCM s16,
 * s24, s32 or IEEE float32/64, plain or WAVE_FORMAT_EXTENSIBLE, any rate and channel count, mixed
 * down to mono. Written here because it is ~150 lines and must run in the browser too; every way a
 * file can be wrong gets one {@link WavError} with a `reason`.
 */
import { PrometheanError } from '../errors.ts';

export type WavErrorReason = 'empty' | 'not_wav' | 'truncated' | 'unsupported_format' | 'not_finite';

/** A file that cannot be analysed; `reason` says why in one word, the message says it for people. */
export class WavError extends PrometheanError {
  override name = 'WavError';
  readonly reason: WavErrorReason;
  constructor(reason: WavErrorReason, message: string) {
    super('unsupported', message);
    this.reason = reason;
  }
}

export type WavSampleFormat = 's16' | 's24' | 's32' | 'f32' | 'f64';

export interface WavInfo {
  sampleRate: number;
  channels: number;
  format: WavSampleFormat;
  /** True when the fmt chunk was WAVE_FORMAT_EXTENSIBLE. */
  extensible: boolean;
  /** Sample frames in the data chunk. */
  frames: number;
}

export interface WavAudio extends WavInfo {
  /** The channels averaged, in [-1, 1] for integer PCM (s16 ÷ 2^15, s24 ÷ 2^23, s32 ÷ 2^31). */
  mono: Float32Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const MAX_CHANNELS = 64;

function tag(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

/** Decodes a whole WAV file. `source` names it in error messages. */
export function decodeWav(bytes: Uint8Array, source = 'input'): WavAudio {
  if (bytes.byteLength === 0) throw new WavError('empty', `${source}: the file is empty`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || tag(view, 0) !== 'RIFF' || tag(view, 8) !== 'WAVE') {
    throw new WavError('not_wav', `${source}: not a WAV file (no RIFF/WAVE header)`);
  }
  let fmt: Omit<WavInfo, 'frames'> | undefined;
  let blockAlign = 0;
  let at = 12;
  while (at + 8 <= bytes.byteLength) {
    const id = tag(view, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.byteLength) throw new WavError('truncated', `${source}: the fmt chunk is cut short`);
      ({ fmt, blockAlign } = parseFmt(view, body, size, source));
    } else if (id === 'data') {
      if (!fmt) throw new WavError('not_wav', `${source}: data chunk before the fmt chunk`);
      const available = bytes.byteLength - body;
      // 0 or 0xFFFFFFFF: a writer that never patched the size (a stream cut short): take what is there.
      const unsized = size === 0 || size === 0xffffffff;
      if (!unsized && size > available) {
        throw new WavError('truncated', `${source}: truncated: the data chunk declares ${size} bytes but ${available} follow`);
      }
      const dataBytes = unsized ? available - (available % blockAlign) : size;
      if (dataBytes % blockAlign !== 0) throw new WavError('truncated', `${source}: truncated: ${dataBytes} data bytes are not whole ${blockAlign}-byte frames`);
      const frames = dataBytes / blockAlign;
      if (frames === 0) throw new WavError('empty', `${source}: the file holds no audio`);
      return { ...fmt, frames, mono: mixdown(view, body, frames, fmt, blockAlign, source) };
    }
    at = body + size + (size % 2);
  }
  throw new WavError(fmt ? 'truncated' : 'not_wav', `${source}: ${fmt ? 'truncated: no data chunk' : 'no fmt chunk'}`);
}

function parseFmt(view: DataView, at: number, size: number, source: string): { fmt: Omit<WavInfo, 'frames'>; blockAlign: number } {
  let formatTag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bits = view.getUint16(at + 14, true);
  const extensible = formatTag === FORMAT_EXTENSIBLE;
  if (extensible) {
    if (size < 40) throw new WavError('truncated', `${source}: WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes (needs 40)`);
    formatTag = view.getUint16(at + 24, true); // first two bytes of the sub-format GUID
  }
  if (channels < 1 || channels > MAX_CHANNELS) throw new WavError('unsupported_format', `${source}: ${channels} channels (1 to ${MAX_CHANNELS} are read)`);
  if (sampleRate < 1 || sampleRate > 1_000_000) throw new WavError('unsupported_format', `${source}: sample rate ${sampleRate} Hz`);
  let format: WavSampleFormat;
  if (formatTag === FORMAT_PCM && bits === 16) format = 's16';
  else if (formatTag === FORMAT_PCM && bits === 24) format = 's24';
  else if (formatTag === FORMAT_PCM && bits === 32) format = 's32';
  else if (formatTag === FORMAT_FLOAT && bits === 32) format = 'f32';
  else if (formatTag === FORMAT_FLOAT && bits === 64) format = 'f64';
  else if (formatTag === FORMAT_PCM && bits === 8) throw new WavError('unsupported_format', `${source}: 8-bit PCM is not supported (use 16, 24 or 32-bit PCM, or 32-bit float)`);
  else throw new WavError('unsupported_format', `${source}: unsupported WAV encoding (format tag ${formatTag}, ${bits} bits); use PCM s16/s24/s32 or float32`);
  if (blockAlign !== channels * (bits / 8)) throw new WavError('unsupported_format', `${source}: block align ${blockAlign} does not match ${channels} × ${bits} bits`);
  return { fmt: { sampleRate, channels, format, extensible }, blockAlign };
}

function mixdown(view: DataView, at: number, frames: number, fmt: Omit<WavInfo, 'frames'>, blockAlign: number, source: string): Float32Array {
  const out = new Float32Array(frames);
  const { channels, format } = fmt;
  const width = blockAlign / channels;
  const read = sampleReader(view, format);
  for (let f = 0; f < frames; f++) {
    let acc = 0;
    const base = at + f * blockAlign;
    for (let c = 0; c < channels; c++) acc += read(base + c * width);
    const v = acc / channels;
    if (!Number.isFinite(v)) throw new WavError('not_finite', `${source}: sample ${f} is NaN or infinite`);
    out[f] = v;
  }
  return out;
}

function sampleReader(view: DataView, format: WavSampleFormat): (at: number) => number {
  switch (format) {
    case 's16':
      return (at) => view.getInt16(at, true) / 32768;
    case 's24':
      return (at) => {
        const u = view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getUint8(at + 2) << 16);
        return ((u << 8) >> 8) / 8388608; // sign-extend 24 → 32 bits
      };
    case 's32':
      return (at) => view.getInt32(at, true) / 2147483648;
    case 'f32':
      return (at) => view.getFloat32(at, true);
    case 'f64':
      return (at) => view.getFloat64(at, true);
  }
}
