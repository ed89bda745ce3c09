/**
 * `--record DIR`: one WAV per participant with what each one sent — the speakers' frames as produced
 * (before simulated network loss) and the bots' frames as the server received them (after transport
 * decryption and extension transforms). Frames are decoded with Opus and placed by RTP timestamp,
 * anchored at the first frame's arrival on the stand-in clock, so participants line up in time.
 * 48 kHz stereo s16; `maxSeconds` bounds memory per participant.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import opus from '@discordjs/opus';
import { writeWavS16 } from '../audio/wav.ts';

interface Track {
  label: string;
  decoder: InstanceType<typeof opus.OpusEncoder>;
  firstTimestamp: number;
  /** Sample index (per channel) where the first frame goes. */
  anchor: number;
  pcm: Int16Array;
  /** Samples per channel written so far (highest end). */
  length: number;
  decodeErrors: number;
  frames: number;
}

export class Recorder {
  readonly dir: string;
  readonly maxSeconds: number;
  readonly #tracks = new Map<string, Track>();
  #closed = false;

  constructor(dir: string, maxSeconds = 600) {
    this.dir = dir;
    this.maxSeconds = maxSeconds;
    mkdirSync(dir, { recursive: true });
  }

  /** Adds one Opus frame from `userId`; `atMs` is the stand-in clock when it was produced/received. */
  add(userId: string, label: string, timestamp: number, frame: Uint8Array, atMs: number): void {
    if (this.#closed) return;
    let track = this.#tracks.get(userId);
    if (!track) {
      track = { label, decoder: new opus.OpusEncoder(48_000, 2), firstTimestamp: timestamp, anchor: Math.max(0, Math.round(atMs * 48)), pcm: new Int16Array(48_000 * 2 * 10), length: 0, decodeErrors: 0, frames: 0 };
      this.#tracks.set(userId, track);
    }
    let pcm: Buffer;
    try {
      pcm = track.decoder.decode(Buffer.from(frame));
    } catch {
      track.decodeErrors++;
      return;
    }
    const delta = ((timestamp - track.firstTimestamp) | 0);
    const start = track.anchor + delta;
    const samples = pcm.length / 4;
    if (start < 0 || start + samples > this.maxSeconds * 48_000) return;
    const needed = (start + samples) * 2;
    if (needed > track.pcm.length) {
      const grown = new Int16Array(Math.max(needed, track.pcm.length * 2));
      grown.set(track.pcm);
      track.pcm = grown;
    }
    const view = new Int16Array(pcm.buffer, pcm.byteOffset, samples * 2);
    track.pcm.set(view, start * 2);
    track.length = Math.max(track.length, start + samples);
    track.frames++;
  }

  /** Per-participant totals. */
  stats(): { userId: string; label: string; frames: number; decodeErrors: number; seconds: number }[] {
    return [...this.#tracks].map(([userId, t]) => ({ userId, label: t.label, frames: t.frames, decodeErrors: t.decodeErrors, seconds: t.length / 48_000 }));
  }

  /**
   * What one participant's track holds so far, from its first frame on (a copy: 48 kHz stereo s16
   * interleaved), while the stand-in runs; undefined when that participant sent nothing yet.
   * `startSample` is where it begins on the stand-in clock (samples per channel), as in the WAV.
   */
  snapshot(userId: string): { label: string; frames: number; startSample: number; pcm: Int16Array } | undefined {
    const t = this.#tracks.get(userId);
    if (!t) return undefined;
    return { label: t.label, frames: t.frames, startSample: t.anchor, pcm: t.pcm.slice(t.anchor * 2, Math.max(t.anchor, t.length) * 2) };
  }

  /** Writes `<label>-<userId>.wav` per participant; returns the paths. Idempotent. */
  close(): string[] {
    if (this.#closed) return [];
    this.#closed = true;
    const paths: string[] = [];
    for (const [userId, t] of this.#tracks) {
      const safe = t.label.replace(/[^A-Za-z0-9_.-]/g, '_');
      const path = join(this.dir, `${safe}-${userId}.wav`);
      writeWavS16(path, t.pcm.subarray(0, t.length * 2), 48_000, 2);
      paths.push(path);
    }
    return paths;
  }
}
