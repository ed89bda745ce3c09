/** Real Opus frames (libopus through @discordjs/opus) for the DAVE tests: 20 ms, 48 kHz stereo tones. */
import opus from '@discordjs/opus';

/** `count` consecutive 20 ms Opus frames of a `hz` sine, distinct per call. */
export function opusTone(hz: number, count: number): Buffer[] {
  const enc = new opus.OpusEncoder(48_000, 2);
  const frames: Buffer[] = [];
  for (let f = 0; f < count; f++) {
    const pcm = Buffer.alloc(960 * 4);
    for (let i = 0; i < 960; i++) {
      const s = Math.round(8000 * Math.sin((2 * Math.PI * hz * (f * 960 + i)) / 48_000));
      pcm.writeInt16LE(s, i * 4);
      pcm.writeInt16LE(s, i * 4 + 2);
    }
    frames.push(enc.encode(pcm));
  }
  return frames;
}
