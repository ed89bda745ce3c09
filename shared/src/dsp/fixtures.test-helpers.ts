/** Test helpers: the DSP fixtures under test/fixtures/dsp (read with Node; tests only). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav } from './wav.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/dsp');

export interface MelReference {
  call?: string;
  sample_rate: number;
  n_mels: number;
  n_frames: number;
  data: number[][];
}

export function readReference(path: string): MelReference {
  return JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as MelReference;
}

export function readWavFixture(path: string) {
  return decodeWav(new Uint8Array(readFileSync(join(FIXTURES, path))), path);
}

/** Largest |a − b| over a frame-major spectrogram vs reference rows, and the reference's largest value. */
export function compareRows(data: Float32Array, nMels: number, nFrames: number, ref: number[][]): { maxErr: number; maxRef: number } {
  let maxErr = 0;
  let maxRef = 0;
  for (let m = 0; m < nMels; m++) {
    for (let t = 0; t < nFrames; t++) {
      const r = ref[m]![t]!;
      maxRef = Math.max(maxRef, Math.abs(r));
      maxErr = Math.max(maxErr, Math.abs(data[t * nMels + m]! - r));
    }
  }
  return { maxErr, maxRef };
}
