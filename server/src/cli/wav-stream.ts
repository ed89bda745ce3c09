/**
 * A WAV file written as audio arrives: a 44-byte header whose sizes are patched on close, so a
 * recording cut short by a crash is still readable up to its last whole frame.
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface WavStreamOptions {
  sampleRate: number;
  channels: number;
}

function header(dataBytes: number, { sampleRate, channels }: WavStreamOptions): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export class WavStream {
  readonly path: string;
  readonly #options: WavStreamOptions;
  #file: FileHandle | undefined;
  #bytes = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(path: string, options: WavStreamOptions) {
    this.path = path;
    this.#options = options;
  }

  static async create(path: string, options: WavStreamOptions): Promise<WavStream> {
    const w = new WavStream(path, options);
    w.#file = await open(path, 'w');
    await w.#file.write(header(0, options), 0, 44, 0);
    return w;
  }

  get dataBytes(): number {
    return this.#bytes;
  }

  /** Appends s16le samples (writes are serialised in call order). */
  append(pcm: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const at = 44 + this.#bytes;
    this.#bytes += pcm.byteLength;
    const copy = Buffer.from(pcm);
    const p = this.#chain.then(() => this.#file!.write(copy, 0, copy.byteLength, at));
    this.#chain = p;
    return p.then(() => undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    await this.#file!.write(header(this.#bytes, this.#options), 0, 44, 0);
    await this.#file!.close();
  }
}
