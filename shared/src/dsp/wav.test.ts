import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from './fixtures.test-helpers.ts';
import { decodeWav, WavError } from './wav.ts';

interface Layouts {
  files: Record<string, { sample_rate: number; channels: number; subtype: string; format: string; mono: number[] }>;
}
const layouts = JSON.parse(readFileSync(join(FIXTURES, 'gen/wav_layouts.json'), 'utf8')) as Layouts;
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, 'gen', name)));

function expectWavError(bytes: Uint8Array, reason: string, message: RegExp): void {
  let caught: unknown;
  try {
    decodeWav(bytes, 'x.wav');
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WavError);
  expect((caught as WavError).reason).toBe(reason);
  expect((caught as WavError).code).toBe('unsupported');
  expect((caught as WavError).message).toMatch(message);
}

describe('decodeWav()', () => {
  for (const [name, want] of Object.entries(layouts.files)) {
    if (want.subtype === 'PCM_U8') continue;
    it(`reads ${name} (${want.format} ${want.subtype}, ${want.channels} ch) as soundfile does`, () => {
      const wav = decodeWav(bytesOf(name), name);
      expect(wav.sampleRate).toBe(want.sample_rate);
      expect(wav.channels).toBe(want.channels);
      expect(wav.extensible).toBe(want.format === 'WAVEX');
      expect(wav.mono.length).toBe(want.mono.length);
      let maxErr = 0;
      for (let i = 0; i < wav.mono.length; i++) maxErr = Math.max(maxErr, Math.abs(wav.mono[i]! - want.mono[i]!));
      expect(maxErr).toBeLessThan(1e-7);
    });
  }

  it('rejects 8-bit PCM with reason unsupported_format', () => {
    expectWavError(bytesOf('wav_u8.wav'), 'unsupported_format', /8-bit/);
  });
  it('rejects an empty file with reason empty', () => {
    expectWavError(new Uint8Array(0), 'empty', /empty/);
  });
  it('rejects bytes that are not a WAV with reason not_wav', () => {
    expectWavError(new TextEncoder().encode('ID3\u0004 this is an mp3, honest'), 'not_wav', /not a WAV/);
  });
  it('rejects a file cut inside its data chunk with reason truncated', () => {
    const whole = bytesOf('wav_s16.wav');
    expectWavError(whole.subarray(0, whole.length - 101), 'truncated', /truncated/);
  });
  it('rejects a header with no audio with reason empty', () => {
    const whole = bytesOf('wav_s16.wav');
    const header = whole.slice(0, 44);
    new DataView(header.buffer).setUint32(40, 0, true);
    expectWavError(header, 'empty', /no audio/);
  });
  it('rejects float samples that are NaN with reason not_finite, naming the sample', () => {
    const bytes = bytesOf('wav_f32.wav').slice();
    const view = new DataView(bytes.buffer);
    // Find the data chunk and poison its 10th sample.
    let at = 12;
    while (String.fromCharCode(...bytes.subarray(at, at + 4)) !== 'data') at += 8 + view.getUint32(at + 4, true);
    view.setFloat32(at + 8 + 4 * 9, Number.NaN, true);
    expectWavError(bytes, 'not_finite', /sample 9/);
  });
  it('reads a stream whose data size was never patched (0) up to its last whole frame', () => {
    const whole = bytesOf('wav_s16.wav');
    const unsized = whole.slice(0, whole.length - 1);
    const view = new DataView(unsized.buffer);
    let at = 12;
    while (String.fromCharCode(...unsized.subarray(at, at + 4)) !== 'data') at += 8 + view.getUint32(at + 4, true);
    const frames = view.getUint32(at + 4, true) / 2;
    view.setUint32(at + 4, 0, true);
    expect(decodeWav(unsized).frames).toBe(frames - 1);
  });
});
