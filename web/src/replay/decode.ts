/**
 * Opus frames of a clip → float PCM on the clip's own timeline, with WebCodecs' `AudioDecoder` (the
 * browser's own Opus decoder; nothing is re-implemented). Each frame is placed at its RTP offset, so
 * silence the speaker did not send stays silence of the right length. Mono (the channels averaged).
 */
import { UnsupportedError } from '../errors.ts';
import type { Clip } from './capture.ts';

export interface DecodedClip {
  sampleRate: number;
  samples: Float32Array<ArrayBuffer>;
}

export async function decodeClip(clip: Clip): Promise<DecodedClip> {
  if (typeof AudioDecoder !== 'function') throw new UnsupportedError('this browser has no WebCodecs AudioDecoder (a secure page is needed)');
  const rate = clip.rate;
  const total = Number(((clip.to_ns - clip.from_ns) * BigInt(rate)) / 1_000_000_000n);
  if (total <= 0 || total > rate * 600) throw new RangeError(`a clip must be 0–600 s long, not ${total / rate} s`);
  const samples = new Float32Array(total);
  const channels = 2;
  const config: AudioDecoderConfig = { codec: 'opus', sampleRate: rate, numberOfChannels: channels };
  const support = await AudioDecoder.isConfigSupported(config);
  if (!support.supported) throw new UnsupportedError('this browser cannot decode Opus with WebCodecs');
  let failure: Error | undefined;
  const plane = new Float32Array(rate); // one second: far more than one Opus frame (≤ 120 ms)
  const decoder = new AudioDecoder({
    output: (data) => {
      try {
        const start = Math.round((data.timestamp * rate) / 1e6);
        const n = Math.min(data.numberOfFrames, plane.length);
        const chans = data.numberOfChannels;
        for (let c = 0; c < chans; c++) {
          data.copyTo(plane, { planeIndex: c, format: 'f32-planar', frameCount: n });
          for (let i = 0; i < n; i++) {
            const at = start + i;
            if (at >= 0 && at < total) samples[at]! += plane[i]! / chans;
          }
        }
      } finally {
        data.close();
      }
    },
    error: (e) => (failure ??= e),
  });
  decoder.configure(config);
  for (const f of clip.frames) {
    decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round((f.offset * 1e6) / rate), data: f.data }));
  }
  await decoder.flush().catch((e: unknown) => (failure ??= e as Error));
  decoder.close();
  if (failure) throw failure;
  return { sampleRate: rate, samples };
}
