/** Network impairments between a simulated speaker and the voice server: loss, jitter, reordering, clock drift. */
import type { Prng } from '../util/prng.ts';

export interface ImpairmentOptions {
  /** Probability (0–1) that a packet is dropped. */
  loss: number;
  /** Uniform random extra delay per packet, 0..jitterMs milliseconds. */
  jitterMs: number;
  /** Probability (0–1) that a packet is held back 1–2 frame intervals, so later ones overtake it. */
  reorder: number;
  /** Speaker clock error in parts per million (+100 = the speaker's 20 ms frames take 20.002 ms). */
  driftPpm: number;
}

export const defaultImpairmentOptions: ImpairmentOptions = { loss: 0, jitterMs: 0, reorder: 0, driftPpm: 0 };

export interface ImpairmentDecision {
  dropped: boolean;
  delayMs: number;
}

export class Impairment {
  readonly options: ImpairmentOptions;
  readonly #prng: Prng;

  constructor(options: ImpairmentOptions, prng: Prng) {
    this.options = options;
    this.#prng = prng;
  }

  /** Decides one packet's fate. Always draws the same number of values so runs stay aligned. */
  decide(frameMs: number): ImpairmentDecision {
    const lossDraw = this.#prng.next();
    const jitterDraw = this.#prng.next();
    const reorderDraw = this.#prng.next();
    const holdDraw = this.#prng.next();
    let delayMs = this.options.jitterMs > 0 ? jitterDraw * this.options.jitterMs : 0;
    if (reorderDraw < this.options.reorder) delayMs += frameMs * (1 + holdDraw);
    return { dropped: lossDraw < this.options.loss, delayMs };
  }
}

/** Checks ranges; returns a message naming the bad field, or undefined. */
export function impairmentProblem(o: Partial<ImpairmentOptions>, where: string): string | undefined {
  if (o.loss !== undefined && !(o.loss >= 0 && o.loss <= 1)) return `${where}.loss must be within 0..1`;
  if (o.reorder !== undefined && !(o.reorder >= 0 && o.reorder <= 1)) return `${where}.reorder must be within 0..1`;
  if (o.jitterMs !== undefined && !(o.jitterMs >= 0 && o.jitterMs <= 10_000)) return `${where}.jitterMs must be within 0..10000`;
  if (o.driftPpm !== undefined && !(Math.abs(o.driftPpm) <= 100_000)) return `${where}.driftPpm must be within ±100000`;
  return undefined;
}
