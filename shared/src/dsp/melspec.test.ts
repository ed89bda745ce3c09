import { describe, expect, it } from 'vitest';
import { DspOptionsError } from './errors.ts';
import { compareRows, readReference, readWavFixture } from './fixtures.test-helpers.ts';
import { melFilterbank } from './mel.ts';
import { MelProcessor, melSpectrogram, whisperLogMel, type MelSpectrogramOptions } from './melspec.ts';
import { spectrogram } from './stft.ts';

/** Mel ≤ 1e-4 of the reference's largest value (issue 10). */
const MEL_TOLERANCE = 1e-4;

function expectMelMatches(input: string, refPath: string, options: Partial<MelSpectrogramOptions>): void {
  const wav = readWavFixture(input);
  const ref = readReference(refPath);
  const mel = melSpectrogram(wav.mono, { sampleRate: wav.sampleRate, ...options });
  expect([mel.nMels, mel.nFrames]).toEqual([ref.n_mels, ref.n_frames]);
  const { maxErr, maxRef } = compareRows(mel.data, mel.nMels, mel.nFrames, ref.data);
  expect(maxErr / maxRef).toBeLessThanOrEqual(MEL_TOLERANCE);
}

describe('melSpectrogram() against librosa 0.11 (shared fixtures)', () => {
  it('matches ref_mel_16k: n_fft 512, hop 160, win 400, 64 slaney mels 20–7600 Hz, pad constant', () => {
    expectMelMatches('reference/ref_mel_16k_input.wav', 'reference/ref_mel_16k.json', { nFft: 512, hopLength: 160, winLength: 400, nMels: 64, fmin: 20, fmax: 7600 });
  });

  it('matches ref_mel_16k_htk_reflect: 40 HTK mels, no norm, power 1, pad reflect', () => {
    expectMelMatches('reference/ref_mel_16k_input.wav', 'reference/ref_mel_16k_htk_reflect.json', {
      nFft: 512,
      hopLength: 160,
      winLength: 400,
      nMels: 40,
      fmin: 20,
      fmax: 7600,
      htk: true,
      norm: 'none',
      power: 1,
      padMode: 'reflect',
    });
  });
});

describe('melSpectrogram() against librosa 0.11 (scripts/dsp-reference.py)', () => {
  it("uses librosa's defaults (n_fft 2048, hop 512, 128 slaney mels, center, pad constant, power 2)", () => {
    expectMelMatches('gen/librosa_defaults_22050_input.wav', 'gen/librosa_defaults_22050.json', {});
  });
  it('matches center=False framing', () => {
    expectMelMatches('gen/no_center_22050_input.wav', 'gen/no_center_22050.json', { nFft: 1024, hopLength: 256, center: false, nMels: 64 });
  });
  it('matches a 1024-sample window zero-padded into n_fft 2048 at 44.1 kHz', () => {
    expectMelMatches('gen/win_1024_of_2048_44100_input.wav', 'gen/win_1024_of_2048_44100.json', { nFft: 2048, hopLength: 441, winLength: 1024, nMels: 96, fmax: 16000 });
  });
  it('matches HTK, no norm, power 1, reflect padding at 8 kHz', () => {
    expectMelMatches('gen/htk_power1_reflect_8000_input.wav', 'gen/htk_power1_reflect_8000.json', {
      nFft: 256,
      hopLength: 80,
      winLength: 200,
      nMels: 40,
      htk: true,
      norm: 'none',
      power: 1,
      padMode: 'reflect',
      fmin: 50,
    });
  });
  it('matches an odd-sized FFT (n_fft 1200) with power 1.5 at 48 kHz', () => {
    expectMelMatches('gen/odd_nfft_48000_input.wav', 'gen/odd_nfft_48000.json', { nFft: 1200, hopLength: 480, nMels: 80, fmin: 30, power: 1.5 });
  });
});

describe('whisperLogMel() against openai/whisper', () => {
  it('matches log_mel_spectrogram(audio) without padding to ≤ 1e-3 absolute', () => {
    const wav = readWavFixture('reference/ref_whisper_logmel_input.wav');
    const ref = readReference('reference/ref_whisper_logmel.json');
    expect(wav.sampleRate).toBe(16000);
    const mel = whisperLogMel(wav.mono);
    expect([mel.nMels, mel.nFrames]).toEqual([80, 200]);
    expect(compareRows(mel.data, mel.nMels, mel.nFrames, ref.data).maxErr).toBeLessThanOrEqual(1e-3);
  });
});

describe('spectrogram()', () => {
  it('puts a 1 kHz tone in the bin nearest 1 kHz', () => {
    const sr = 16000;
    const x = Float32Array.from({ length: sr }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / sr));
    const s = spectrogram(x, { nFft: 512, hopLength: 256 });
    const t = 10;
    let best = 0;
    for (let k = 1; k < s.nBins; k++) if (s.data[t * s.nBins + k]! > s.data[t * s.nBins + best]!) best = k;
    expect(best).toBe(Math.round((1000 * 512) / sr));
  });

  it('throws PrometheanError unsupported for an uncentred signal shorter than n_fft', () => {
    expect(() => spectrogram(new Float32Array(100), { nFft: 512, center: false })).toThrow(/shorter than n_fft/);
  });
});

describe('option checks', () => {
  it('melFilterbank() rejects fmax above Nyquist with DspOptionsError naming fmax', () => {
    expect(() => melFilterbank({ sampleRate: 16000, nFft: 512, fmax: 9000 })).toThrow(DspOptionsError);
    expect(() => melFilterbank({ sampleRate: 16000, nFft: 512, fmax: 9000 })).toThrow(/fmax/);
  });
  it('melSpectrogram() rejects win_length above n_fft and hop 0', () => {
    expect(() => melSpectrogram(new Float32Array(4096), { sampleRate: 16000, nFft: 256, winLength: 400 })).toThrow(/win_length/);
    expect(() => melSpectrogram(new Float32Array(4096), { sampleRate: 16000, hopLength: 0 })).toThrow(/hop_length/);
  });
  it('melFilterbank() caches: the same options give the same object', () => {
    expect(melFilterbank({ sampleRate: 16000, nFft: 400, nMels: 80 })).toBe(melFilterbank({ sampleRate: 16000, nFft: 400, nMels: 80 }));
  });
});

describe('MelProcessor', () => {
  it('processInput() in uneven chunks gives the frames of melSpectrogram(center: false)', () => {
    const wav = readWavFixture('reference/ref_mel_16k_input.wav');
    const options = { sampleRate: 16000, nFft: 512, hopLength: 160, winLength: 400, nMels: 64, fmin: 20, fmax: 7600 };
    const whole = melSpectrogram(wav.mono, { ...options, center: false });
    const proc = new MelProcessor(options, 1000);
    const got: number[] = [];
    const starts: number[] = [];
    const sizes = [1, 317, 999, 160, 4000, 3];
    let at = 0;
    for (let i = 0; at < wav.mono.length; i++) {
      const size = sizes[i % sizes.length]!;
      const r = proc.processInput(wav.mono.subarray(at, at + size));
      if (r.count > 0) starts.push(r.firstSample);
      got.push(...r.data);
      at += size;
    }
    expect(got.length).toBe(whole.data.length);
    let maxErr = 0;
    let maxRef = 0;
    for (let i = 0; i < got.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i]! - whole.data[i]!));
      maxRef = Math.max(maxRef, whole.data[i]!);
    }
    expect(maxErr / maxRef).toBeLessThan(1e-6);
    expect(starts[0]).toBe(0);
    expect(starts.every((s) => s % 160 === 0)).toBe(true);
  });

  it('processInput() with hop > n_fft skips the samples between frames and still equals melSpectrogram(center: false)', () => {
    const wav = readWavFixture('reference/ref_mel_16k_input.wav');
    const options = { sampleRate: 16000, nFft: 256, hopLength: 700, nMels: 32 };
    const whole = melSpectrogram(wav.mono, { ...options, center: false });
    const proc = new MelProcessor(options, 500);
    const got: number[] = [];
    const starts: number[] = [];
    for (let at = 0; at < wav.mono.length; at += 333) {
      const r = proc.processInput(wav.mono.subarray(at, at + 333));
      for (let f = 0; f < r.count; f++) starts.push(r.firstSample + f * 700);
      got.push(...r.data);
    }
    expect(got.length).toBe(whole.data.length);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - whole.data[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1e-12, Math.abs(whole.data[i]!)));
    expect(starts).toEqual(Array.from({ length: whole.nFrames }, (_, t) => t * 700));
  });

  it('reset() starts a new stream: the same audio gives the same frames again', () => {
    const wav = readWavFixture('reference/ref_mel_16k_input.wav');
    const proc = new MelProcessor({ sampleRate: 16000, nFft: 512, hopLength: 160, nMels: 40 }, 4000);
    const first = proc.processInput(wav.mono.subarray(0, 4000));
    const kept = { count: first.count, firstSample: first.firstSample, data: first.data.slice() };
    proc.processInput(wav.mono.subarray(4000, 5000));
    proc.reset();
    const again = proc.processInput(wav.mono.subarray(0, 4000));
    expect({ count: again.count, firstSample: again.firstSample, data: again.data.slice() }).toEqual(kept);
  });
});
