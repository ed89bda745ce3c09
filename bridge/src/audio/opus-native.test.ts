import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { InvalidStateError } from '@promethean/shared';
import { requires } from '../../../test/support/requires.ts';
import { OpusDecoder, OpusEncoder, OPUS_APPLICATION_VOIP, findLibopus, opusAvailable } from './opus-native.ts';
import { isOpusSilenceFrame, opusHasLbrr, opusPacketSamples } from './opus-packet.ts';
import { OpusError } from '../util/errors.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder: RefOpus } = require('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { encode(b: Buffer): Buffer; decode(b: Buffer): Buffer };
};

/** A 20 ms stereo frame of a two-tone signal with a slow amplitude envelope (speech-like energy changes). */
function frame(index: number, channels = 2): Int16Array {
  const out = new Int16Array(960 * channels);
  for (let i = 0; i < 960; i++) {
    const t = (index * 960 + i) / 48000;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    const v = Math.round(9000 * env * (Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 1330 * t)));
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

function corr(a: Int16Array, b: Int16Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb || 1);
}

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('opus-native (libopus via koffi)', () => {
  it('findLibopus() returns a path to libopus.so.0', () => {
    expect(findLibopus()).toMatch(/libopus\.so\.0$/);
  });

  it('decode() yields the same PCM as @discordjs/opus for the same packets', () => {
    const ref = new RefOpus(48000, 2);
    const ours = new OpusDecoder(2);
    let maxDiff = 0;
    let total = 0;
    for (let i = 0; i < 50; i++) {
      const pcm = frame(i);
      const packet = ref.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      const refPcm = ref.decode(packet);
      const refSamples = new Int16Array(refPcm.buffer, refPcm.byteOffset, refPcm.byteLength / 2);
      const got = ours.decode(packet);
      expect(got.length).toBe(1920);
      for (let k = 0; k < got.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k]! - refSamples[k]!));
      total += got.length;
    }
    expect(total).toBe(50 * 1920);
    // Both are libopus 1.3.1; allow one LSB for a differently-built float path.
    expect(maxDiff).toBeLessThanOrEqual(1);
    ours.close();
  });

  it('encode() output decodes with @discordjs/opus to the input signal', () => {
    const enc = new OpusEncoder({ channels: 2, bitrate: 96000 });
    const ref = new RefOpus(48000, 2);
    const sent: Int16Array[] = [];
    const got: Int16Array[] = [];
    for (let i = 0; i < 50; i++) {
      const pcm = frame(i);
      sent.push(pcm);
      const packet = enc.encode(pcm);
      expect(opusPacketSamples(packet)).toBe(960);
      const dec = ref.decode(Buffer.from(packet));
      got.push(new Int16Array(dec.buffer.slice(dec.byteOffset, dec.byteOffset + dec.byteLength)));
    }
    const a = concat(sent);
    const b = concat(got);
    // Opus has a fixed 312-sample (6.5 ms) algorithmic delay at 48 kHz.
    expect(corr(a.subarray(0, a.length - 624), b.subarray(624))).toBeGreaterThan(0.95);
    enc.close();
  });

  it('decodeFec() recovers a lost SILK frame closer to the original than PLC does', () => {
    const enc = new OpusEncoder({ channels: 1, bitrate: 24000, application: OPUS_APPLICATION_VOIP, inbandFec: true, packetLossPercent: 20 });
    const packets = Array.from({ length: 30 }, (_, i) => enc.encode(frame(i, 1)));
    const lost = 20;
    expect(opusHasLbrr(packets[lost + 1]!)).toBe(true);
    const run = (mode: 'fec' | 'plc' | 'none'): Int16Array => {
      const dec = new OpusDecoder(1);
      let out = new Int16Array(0);
      for (let i = 0; i <= lost; i++) {
        const pcm = i < lost || mode === 'none' ? dec.decode(packets[i]!) : mode === 'fec' ? dec.decodeFec(packets[lost + 1]!) : dec.conceal();
        if (i === lost) out = pcm.slice();
      }
      dec.close();
      return out;
    };
    const truth = run('none');
    expect(run('fec').length).toBe(960);
    expect(run('plc').length).toBe(960);
    expect(corr(run('fec'), truth)).toBeGreaterThan(corr(run('plc'), truth));
    expect(corr(run('fec'), truth)).toBeGreaterThan(0.5);
    enc.close();
  });

  it('opusHasLbrr() is false for packets encoded without FEC and for the silence frame', () => {
    const enc = new OpusEncoder({ channels: 1, bitrate: 24000, application: OPUS_APPLICATION_VOIP, inbandFec: false, packetLossPercent: 20 });
    for (let i = 0; i < 20; i++) expect(opusHasLbrr(enc.encode(frame(i, 1)))).toBe(false);
    const silence = new Uint8Array([0xf8, 0xff, 0xfe]);
    expect(isOpusSilenceFrame(silence)).toBe(true);
    expect(opusHasLbrr(silence)).toBe(false);
    enc.close();
  });

  it('decode() throws OpusError OPUS_INVALID_PACKET for garbage and keeps working after', () => {
    const dec = new OpusDecoder(2);
    expect(() => dec.decode(new Uint8Array([0x03]))).toThrow(OpusError);
    const ref = new RefOpus(48000, 2);
    const pcm = frame(0);
    expect(dec.decode(ref.encode(Buffer.from(pcm.buffer))).length).toBe(1920);
    dec.close();
  });

  it('decode() throws InvalidStateError after close(), and close() is idempotent', () => {
    const dec = new OpusDecoder(2);
    dec.close();
    dec.close();
    expect(() => dec.conceal()).toThrow(InvalidStateError);
  });
});

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
