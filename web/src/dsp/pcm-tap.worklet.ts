/**
 * AudioWorklet processor `pcm-tap`: one per speaker, fed by that speaker's track. It only copies:
 * the channels averaged to mono, batched to `batch` samples, posted with the AudioContext frame of
 * the batch's first sample to each worker port it is handed (the spectrogram worker and the VAD
 * worker; never the main thread). Output is silence. DSP happens in the workers.
 */

interface WorkletScope {
  registerProcessor(name: string, ctor: new (options: { processorOptions?: { batch?: number } }) => unknown): void;
  currentFrame: number;
}
declare const AudioWorkletProcessor: { new (): { readonly port: MessagePort } };
const scope = globalThis as unknown as WorkletScope;

class PcmTap extends AudioWorkletProcessor {
  readonly #targets: MessagePort[] = [];
  readonly #batch: number;
  #buf: Float32Array;
  #len = 0;
  #first = 0;

  constructor(options: { processorOptions?: { batch?: number } }) {
    super();
    this.#batch = Math.max(128, Math.min(16_384, options.processorOptions?.batch ?? 1024));
    this.#buf = new Float32Array(this.#batch);
    this.port.onmessage = (ev: MessageEvent<{ port?: MessagePort; stop?: boolean }>) => {
      if (ev.data.port && this.#targets.length < 4) this.#targets.push(ev.data.port);
      if (ev.data.stop) for (const t of this.#targets.splice(0)) t.close();
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0];
    if (!input || input.length === 0 || this.#targets.length === 0) return true;
    const n = input[0]!.length;
    const chans = input.length;
    if (this.#len === 0) this.#first = scope.currentFrame;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < chans; c++) s += input[c]![i]!;
      this.#buf[this.#len++] = s / chans;
      if (this.#len === this.#batch) {
        for (let t = 1; t < this.#targets.length; t++) this.#targets[t]!.postMessage({ frame: this.#first, samples: this.#buf.slice() });
        this.#targets[0]!.postMessage({ frame: this.#first, samples: this.#buf }, [this.#buf.buffer]);
        this.#buf = new Float32Array(this.#batch);
        this.#len = 0;
        this.#first = scope.currentFrame + i + 1;
      }
    }
    return true;
  }
}

scope.registerProcessor('pcm-tap', PcmTap as unknown as new (options: { processorOptions?: { batch?: number } }) => unknown);
