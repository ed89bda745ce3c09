/**
 * Spectrogram columns for display, from a live stream of float samples. Pure; buffers allocated once.
 * Framing is a ring of the last `nFft` samples, one column every `hop` samples; the spectrum and the
 * mel filterbank are the shared kernels (`SpectrumFrame`, `melFilterbank`, `applyMel`). Each column
 * is `rows` bytes: dB mapped from [topDb − rangeDb, topDb] to 0..255, low frequency first.
 *
 * dB reference: a full-scale sine reads 0 dB on the linear scale (the power is divided by the
 * window's coherent gain squared, (Σw / 2)²). Mel rows use unnormalised triangles (peak 1), so a
 * tone at a filter's centre reads the same as on the linear scale.
 */
import { applyMel, melFilterbank, melFrequencies, resolveStftOptions, SpectrumFrame, type MelFilterbank } from '@promethean/shared';

export type FrequencyScale = 'mel' | 'linear';

export interface ColumnOptions {
  sampleRate: number;
  /** FFT size (samples). */
  nFft: number;
  /** Samples between columns. */
  hop: number;
  /** Rows (frequency bands) per column. */
  rows: number;
  scale: FrequencyScale;
  /** Lowest and highest frequency shown, Hz. */
  fmin: number;
  fmax: number;
  /** dB at full brightness and the range below it that maps to 0..255. */
  topDb: number;
  rangeDb: number;
}

export const defaultColumnOptions: ColumnOptions = {
  sampleRate: 48_000,
  nFft: 1024,
  hop: 480,
  rows: 128,
  scale: 'mel',
  fmin: 0,
  fmax: 8000,
  topDb: 0,
  rangeDb: 90,
};

export class ColumnProcessor {
  readonly options: ColumnOptions;
  /** Centre frequency of each row, Hz (low first). */
  readonly rowHz: Float64Array;
  readonly #frame: SpectrumFrame;
  readonly #bank: MelFilterbank | undefined;
  readonly #ring: Float64Array;
  readonly #linear: Float64Array;
  readonly #rowPower: Float64Array;
  /** Linear mode: the FFT bins each row pools (max), [lo, hi). */
  readonly #rowBins: Int32Array;
  readonly #ref: number;
  #out: Uint8Array;
  #pos = 0;
  #filled = 0;
  #since = 0;
  /** Samples fed so far. */
  total = 0;

  constructor(options: Partial<ColumnOptions> = {}, maxChunk = 4096) {
    const o = (this.options = { ...defaultColumnOptions, ...options });
    if (o.fmax > o.sampleRate / 2 || o.fmin < 0 || o.fmin >= o.fmax) throw new RangeError(`need 0 ≤ fmin < fmax ≤ ${o.sampleRate / 2} Hz`);
    const stft = resolveStftOptions({ nFft: o.nFft, hopLength: o.hop, power: 2, center: false, window: 'hann' });
    this.#frame = new SpectrumFrame(stft);
    this.#ring = new Float64Array(o.nFft);
    this.#linear = new Float64Array(o.nFft);
    this.#rowPower = new Float64Array(o.rows);
    this.#rowBins = new Int32Array(o.rows + 1);
    let wsum = 0;
    for (let i = 0; i < o.nFft; i++) wsum += 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / o.nFft);
    this.#ref = (wsum / 2) ** 2;
    this.rowHz = new Float64Array(o.rows);
    if (o.scale === 'mel') {
      this.#bank = melFilterbank({ sampleRate: o.sampleRate, nFft: o.nFft, nMels: o.rows, fmin: o.fmin, fmax: o.fmax, norm: 'none' });
      const f = melFrequencies(o.rows + 2, o.fmin, o.fmax);
      for (let r = 0; r < o.rows; r++) this.rowHz[r] = f[r + 1]!;
    } else {
      const binHz = o.sampleRate / o.nFft;
      for (let r = 0; r <= o.rows; r++) this.#rowBins[r] = Math.round((o.fmin + ((o.fmax - o.fmin) * r) / o.rows) / binHz);
      for (let r = 0; r < o.rows; r++) {
        if (this.#rowBins[r + 1]! <= this.#rowBins[r]!) this.#rowBins[r + 1] = this.#rowBins[r]! + 1;
        this.rowHz[r] = o.fmin + ((o.fmax - o.fmin) * (r + 0.5)) / o.rows;
      }
    }
    this.#out = new Uint8Array((Math.ceil(maxChunk / o.hop) + 1) * o.rows);
  }

  /** Columns completed by this chunk: `count` columns of `rows` bytes in `data` (reused by the next call). */
  processInput(chunk: ArrayLike<number>): { count: number; data: Uint8Array } {
    const { nFft, hop, rows } = this.options;
    const need = (Math.ceil(chunk.length / hop) + 1) * rows;
    if (this.#out.length < need) this.#out = new Uint8Array(need);
    let count = 0;
    for (let i = 0; i < chunk.length; i++) {
      const v = chunk[i]!;
      this.#ring[this.#pos] = Number.isFinite(v) ? v : 0;
      this.#pos = (this.#pos + 1) % nFft;
      this.total++;
      if (this.#filled < nFft) this.#filled++;
      this.#since++;
      if (this.#filled < nFft || (this.total !== nFft && this.#since < hop)) continue;
      this.#since = 0;
      for (let k = 0; k < nFft; k++) this.#linear[k] = this.#ring[(this.#pos + k) % nFft]!;
      this.#column(this.#frame.compute(this.#linear, 0), count * rows);
      count++;
    }
    return { count, data: this.#out.subarray(0, count * rows) };
  }

  /** The row whose band holds `hz`, or −1 outside fmin..fmax. */
  rowOf(hz: number): number {
    const o = this.options;
    if (hz < o.fmin || hz > o.fmax) return -1;
    let best = 0;
    for (let r = 1; r < o.rows; r++) if (Math.abs(this.rowHz[r]! - hz) < Math.abs(this.rowHz[best]! - hz)) best = r;
    return best;
  }

  #column(spectrum: Float64Array, at: number): void {
    const { rows, topDb, rangeDb } = this.options;
    if (this.#bank) applyMel(this.#bank, spectrum, this.#rowPower);
    else {
      for (let r = 0; r < rows; r++) {
        let m = 0;
        for (let k = this.#rowBins[r]!; k < this.#rowBins[r + 1]! && k < spectrum.length; k++) if (spectrum[k]! > m) m = spectrum[k]!;
        this.#rowPower[r] = m;
      }
    }
    for (let r = 0; r < rows; r++) {
      const db = 10 * Math.log10(this.#rowPower[r]! / this.#ref + 1e-20);
      const x = Math.round(((db - (topDb - rangeDb)) / rangeDb) * 255);
      this.#out[at + r] = x < 0 ? 0 : x > 255 ? 255 : x;
    }
  }
}

/** The last `capacity` columns of one speaker (5 minutes at 100 columns a second by default). Bounded. */
export class ColumnHistory {
  readonly rows: number;
  readonly capacity: number;
  readonly data: Uint8Array;
  /** Columns written so far (the newest is `written − 1`). */
  written = 0;

  constructor(rows: number, capacity = 30_000) {
    this.rows = rows;
    this.capacity = capacity;
    this.data = new Uint8Array(rows * capacity);
  }

  push(columns: Uint8Array, count: number): void {
    for (let c = 0; c < count; c++) {
      const slot = this.written % this.capacity;
      this.data.set(columns.subarray(c * this.rows, (c + 1) * this.rows), slot * this.rows);
      this.written++;
    }
  }

  /** Column `index` (absolute), or undefined when it is not held. */
  column(index: number): Uint8Array | undefined {
    if (index < 0 || index >= this.written || index < this.written - this.capacity) return undefined;
    const slot = index % this.capacity;
    return this.data.subarray(slot * this.rows, (slot + 1) * this.rows);
  }
}

export { melFrequencies };
