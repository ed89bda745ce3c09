/** WAV read/write (PCM 8/16/24/32-bit integer and 32/64-bit float, any channel count). */
import { readFileSync, writeFileSync } from 'node:fs';
import { WavFormatError } from '../util/errors.ts';

export interface PcmAudio {
  sampleRate: number;
  /** One Float32Array per channel, samples in [-1, 1]. */
  channels: Float32Array[];
}

export function readWavFile(path: string): PcmAudio {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new WavFormatError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return parseWav(bytes);
  } catch (error) {
    if (error instanceof WavFormatError) throw new WavFormatError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Parses a RIFF/WAVE buffer. Throws {@link WavFormatError}. */
export function parseWav(buf: Buffer): PcmAudio {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  let at = 12;
  let format: { tag: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = buf.subarray(at + 8, Math.min(buf.length, at + 8 + size));
    if (id === 'fmt ') {
      if (body.length < 16) throw new WavFormatError('fmt chunk too short');
      let tag = body.readUInt16LE(0);
      if (tag === 0xfffe && body.length >= 26) tag = body.readUInt16LE(24);
      format = { tag, channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      data = body;
    }
    at += 8 + size + (size & 1);
  }
  if (!format) throw new WavFormatError('no fmt chunk');
  if (!data) throw new WavFormatError('no data chunk');
  const { tag, channels: n, rate, bits } = format;
  if (n < 1 || rate < 1000) throw new WavFormatError(`unsupported layout: ${n} channels at ${rate} Hz`);
  const width = bits / 8;
  if (!((tag === 1 && [8, 16, 24, 32].includes(bits)) || (tag === 3 && (bits === 32 || bits === 64)))) {
    throw new WavFormatError(`unsupported sample format: tag ${tag}, ${bits} bits`);
  }
  const frames = Math.floor(data.length / (width * n));
  const channels = Array.from({ length: n }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < n; c++) {
      const o = (i * n + c) * width;
      let v: number;
      if (tag === 3) v = bits === 32 ? data.readFloatLE(o) : data.readDoubleLE(o);
      else if (bits === 8) v = (data.readUInt8(o) - 128) / 128;
      else if (bits === 16) v = data.readInt16LE(o) / 32768;
      else if (bits === 24) v = data.readIntLE(o, 3) / 8388608;
      else v = data.readInt32LE(o) / 2147483648;
      (channels[c] as Float32Array)[i] = v;
    }
  }
  return { sampleRate: rate, channels };
}

/** Encodes interleaved s16 PCM as a 16-bit PCM WAV. */
export function encodeWavS16(interleaved: Int16Array, sampleRate: number, channels: number): Buffer {
  const dataBytes = interleaved.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  Buffer.from(interleaved.buffer, interleaved.byteOffset, dataBytes).copy(out, 44);
  return out;
}

export function writeWavS16(path: string, interleaved: Int16Array, sampleRate: number, channels: number): void {
  writeFileSync(path, encodeWavS16(interleaved, sampleRate, channels));
}
