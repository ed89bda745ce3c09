import { describe, expect, it } from 'vitest';
import { readWavFixture } from './fixtures.test-helpers.ts';
import { TonalityMeter } from './tonality.ts';
import { STEADY_TONE_FRAMES, VadSegmenter, type VadEvent } from './vad.ts';

function noisyTone(hz: number, seconds: number, seed = 1): Float32Array {
  let s = seed;
  const uniform = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1; // RMS 1/√3
  };
  const toneRms = 0.1;
  const noiseRms = toneRms / Math.sqrt(10); // 10 dB below the tone
  return Float32Array.from({ length: Math.round(16000 * seconds) }, (_, i) => toneRms * Math.SQRT2 * Math.sin((2 * Math.PI * hz * i) / 16000) + noiseRms * Math.sqrt(3) * uniform());
}

describe('TonalityMeter', () => {
  for (const hz of [250, 440, 1000, 3000]) {
    it(`scores a ${hz} Hz tone 10 dB over noise above 0.8 and finds its frequency within 3 Hz`, () => {
      const meter = new TonalityMeter(512, 16000);
      const x = noisyTone(hz, 0.2);
      for (let at = 0; at + 512 <= x.length; at += 512) {
        expect(meter.measure(x, at)).toBeGreaterThan(0.8);
        expect(Math.abs(meter.peakHz - hz)).toBeLessThan(3);
      }
    });
  }

  it('scores silence 0', () => {
    expect(new TonalityMeter(512).measure(new Float32Array(512))).toBe(0);
  });
});

describe('steady-tone rejection in VadSegmenter', () => {
  function feed(signal: Float32Array, probability: number) {
    const meter = new TonalityMeter(512, 16000);
    const seg = new VadSegmenter(512, 16000);
    const events: VadEvent[] = [];
    let maxRun = 0;
    for (let at = 0; at + 512 <= signal.length; at += 512) {
      const t = meter.measure(signal, at);
      events.push(...seg.processInput(probability, 0.1, t, meter.peakHz));
      maxRun = Math.max(maxRun, seg.toneRun);
    }
    events.push(...seg.flush());
    return { events, maxRun };
  }

  it('drops a 440 Hz tone that the model scored as speech', () => {
    const { events, maxRun } = feed(noisyTone(440, 1), 0.99);
    expect(maxRun).toBeGreaterThanOrEqual(STEADY_TONE_FRAMES);
    expect(events).toEqual([]);
  });

  it('never takes clean, band-limited real speech (JFK) for a steady tone', () => {
    const speech = readWavFixture('../audio/jfk_16k.wav').mono;
    const { events, maxRun } = feed(speech, 0.99);
    expect(maxRun).toBeLessThan(STEADY_TONE_FRAMES);
    expect(events.filter((e) => e.type === 'end')).toHaveLength(1);
  });
});
