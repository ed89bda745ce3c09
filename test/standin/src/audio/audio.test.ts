import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasBinary } from '../../../support/requires.ts';
import { WavFormatError } from '../util/errors.ts';
import { resampleLinear, toStereo48k } from './resample.ts';
import { encodeWavS16, parseWav, readWavFile } from './wav.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../../../fixtures/audio/${name}`, import.meta.url));

describe('WAV', () => {
  it.each([
    ['jfk_16k.wav', 16_000, 1],
    ['alice_22k.wav', 22_050, 1],
    ['bob_16k_stereo.wav', 16_000, 2],
    ['carol_48k.wav', 48_000, 1],
  ])('readWavFile(%s) reports rate %i and %i channel(s), and as many samples as soxi', (name, rate, channels) => {
    const audio = readWavFile(fixture(name));
    expect(audio.sampleRate).toBe(rate);
    expect(audio.channels).toHaveLength(channels);
    if (hasBinary('soxi', ['-V0', fixture(name)])) {
      expect(audio.channels[0]?.length).toBe(Number(execFileSync('soxi', ['-s', fixture(name)]).toString().trim()));
    }
  });

  it('encodeWavS16() round-trips through parseWav()', () => {
    const pcm = Int16Array.from([0, 1000, -1000, 32767, -32768, 5]);
    const audio = parseWav(encodeWavS16(pcm, 8000, 2));
    expect(audio.sampleRate).toBe(8000);
    expect([...(audio.channels[0] as Float32Array)].map((v) => Math.round(v * 32768))).toEqual([0, -1000, -32768]);
    expect([...(audio.channels[1] as Float32Array)].map((v) => Math.round(v * 32768))).toEqual([1000, 32767, 5]);
  });

  it('parseWav() throws WavFormatError on non-WAV and unsupported formats', () => {
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(WavFormatError);
    const alaw = encodeWavS16(Int16Array.from([1, 2]), 8000, 1);
    alaw.writeUInt16LE(6, 20);
    expect(() => parseWav(alaw)).toThrow(/unsupported sample format/);
  });
});

describe('resampling to 48 kHz', () => {
  it('resampleLinear() keeps a 440 Hz tone at 440 Hz (16 kHz → 48 kHz) within 1% RMS error', () => {
    const from = 16_000;
    const input = Float32Array.from({ length: from }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / from));
    const out = resampleLinear(input, from, 48_000);
    expect(out.length).toBe(48_000);
    let err = 0;
    for (let i = 0; i < out.length - 3; i++) err += ((out[i] as number) - Math.sin((2 * Math.PI * 440 * i) / 48_000)) ** 2;
    expect(Math.sqrt(err / out.length)).toBeLessThan(0.01);
  });

  it('toStereo48k() duplicates mono and keeps stereo channels apart', () => {
    const mono = toStereo48k({ sampleRate: 24_000, channels: [Float32Array.from([0, 0.5, 1, 0.5])] });
    expect(mono[0]).toBe(mono[1]);
    expect(mono[0].length).toBe(8);
    const stereo = toStereo48k({ sampleRate: 48_000, channels: [Float32Array.from([1, 1]), Float32Array.from([-1, -1])] });
    expect([...stereo[0]]).toEqual([1, 1]);
    expect([...stereo[1]]).toEqual([-1, -1]);
  });
});
