import { describe, expect, it } from 'vitest';
import { SILERO_CONTEXT_SAMPLES, SILERO_FRAME_SAMPLES, SileroFramer } from './silero.ts';

describe('SileroFramer', () => {
  it('cuts any chunking into 512-sample frames, each preceded by the previous 64 samples', () => {
    const x = Float32Array.from({ length: 3000 }, (_, i) => i);
    const framer = new SileroFramer(700);
    const inputs: Float32Array[] = [];
    for (const [a, b] of [[0, 1], [1, 700], [700, 701], [701, 2100], [2100, 3000]] as const) {
      for (const f of framer.processInput(x.subarray(a, b))) {
        expect(f.index).toBe(inputs.length);
        inputs.push(f.input.slice());
      }
    }
    expect(inputs).toHaveLength(Math.floor(3000 / SILERO_FRAME_SAMPLES));
    for (const [k, input] of inputs.entries()) {
      expect(input.length).toBe(SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES);
      expect(input[SILERO_CONTEXT_SAMPLES]).toBe(k * SILERO_FRAME_SAMPLES);
      expect(input[0]).toBe(k === 0 ? 0 : k * SILERO_FRAME_SAMPLES - SILERO_CONTEXT_SAMPLES);
    }
  });
});
