/**
 * The stand-in CDN's pictures, generated deterministically: a 5×5 mirrored identicon per avatar hash
 * (its colour and pattern come from the hash) and Discord's six default avatars as flat discs.
 */
import { createHash } from 'node:crypto';
import { encodePalettePng, type Rgb } from './png.ts';

const BACKGROUND: Rgb = [240, 241, 245];
const WHITE: Rgb = [255, 255, 255];
/** Discord's default-avatar colours, by index (blurple, grey, green, yellow, red, pink). */
const DEFAULT_COLOURS: readonly Rgb[] = [
  [88, 101, 242],
  [117, 126, 138],
  [59, 165, 92],
  [250, 166, 26],
  [237, 66, 69],
  [235, 69, 159],
];

function hslToRgb(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** An identicon for `seed` (an avatar hash), `size`×`size` pixels. */
export function identiconPng(seed: string, size: number): Buffer {
  const h = createHash('sha256').update(seed).digest();
  const colour = hslToRgb(h.readUInt16BE(0) % 360, 0.55 + (h[2]! % 20) / 100, 0.42 + (h[3]! % 16) / 100);
  const cells = new Uint8Array(25);
  for (let row = 0; row < 5; row++) {
    for (let col = 0; col < 3; col++) {
      const bit = row * 3 + col;
      const on = (h[4 + (bit >> 3)]! >> (bit & 7)) & 1;
      cells[row * 5 + col] = on;
      cells[row * 5 + (4 - col)] = on;
    }
  }
  if (!cells.includes(1)) cells[12] = 1;
  const margin = size / 12;
  const cell = (size - 2 * margin) / 5;
  const pixels = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    const row = Math.floor((y + 0.5 - margin) / cell);
    if (row < 0 || row > 4) continue;
    for (let x = 0; x < size; x++) {
      const col = Math.floor((x + 0.5 - margin) / cell);
      if (col >= 0 && col <= 4 && cells[row * 5 + col]) pixels[y * size + x] = 1;
    }
  }
  return encodePalettePng(size, size, [BACKGROUND, colour], pixels);
}

/** Discord's default avatar `index` (0–5): its colour with a white disc. */
export function defaultAvatarPng(index: number, size: number): Buffer {
  const colour = DEFAULT_COLOURS[index] ?? DEFAULT_COLOURS[0]!;
  const pixels = new Uint8Array(size * size);
  const c = size / 2;
  const r2 = (size * 0.28) ** 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) if ((x + 0.5 - c) ** 2 + (y + 0.5 - c) ** 2 <= r2) pixels[y * size + x] = 1;
  }
  return encodePalettePng(size, size, [colour, WHITE], pixels);
}

export const DEFAULT_AVATAR_COUNT = DEFAULT_COLOURS.length;
