/**
 * Silero VAD v5 on onnxruntime-web (WASM, one thread: the console is not cross-origin isolated, which
 * would break Discord's avatars). One InferenceSession serves every speaker; each speaker carries its
 * own recurrent state. The model and the WASM binary are served as the build's own assets (Vite does
 * not emit them by itself: they are imported with `?url`).
 */
import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import modelUrl from '@ricky0123/vad-web/dist/silero_vad_v5.onnx?url';
import { SILERO_SAMPLE_RATE, SILERO_STATE_SIZE } from '@promethean/shared';

export const SILERO_MODEL = 'silero_vad_v5';

export class SileroOrt {
  readonly #session: ort.InferenceSession;
  readonly #sr: ort.Tensor;

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
    this.#sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(SILERO_SAMPLE_RATE)]), []);
  }

  static async load(): Promise<SileroOrt> {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, self.location.href).href };
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    return new SileroOrt(session);
  }

  /** A fresh recurrent state for a new stream. */
  static newState(): Float32Array {
    return new Float32Array(2 * SILERO_STATE_SIZE);
  }

  /** Speech probability of one 576-sample input; `state` is read and replaced in place. */
  async run(input: Float32Array, state: Float32Array): Promise<number> {
    const out = await this.#session.run({
      input: new ort.Tensor('float32', input, [1, input.length]),
      state: new ort.Tensor('float32', state, [2, 1, SILERO_STATE_SIZE]),
      sr: this.#sr,
    });
    state.set(out.stateN!.data as Float32Array);
    return (out.output!.data as Float32Array)[0]!;
  }
}
