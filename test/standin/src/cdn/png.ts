/**
 * A minimal PNG encoder (8-bit palette images, filter 0, zlib from node:zlib) and the matching reader
 * the tests use to check what the CDN serves: signature, chunk CRCs, IHDR and the inflated scanlines.
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export type Rgb = readonly [r: number, g: number, b: number];

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes a palette image: `pixels` holds one palette index per pixel, row by row. Every scanline
 * uses filter 0 (none), which deflate compresses well for flat-coloured images.
 */
export function encodePalettePng(width: number, height: number, palette: readonly Rgb[], pixels: Uint8Array): Buffer {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new RangeError('width and height must be positive integers');
  if (pixels.length !== width * height) throw new RangeError(`expected ${width * height} pixels, got ${pixels.length}`);
  if (palette.length === 0 || palette.length > 256) throw new RangeError('a palette holds 1..256 colours');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // colour type: palette
  // compression 0, filter 0, interlace 0
  const plte = Buffer.alloc(palette.length * 3);
  palette.forEach(([r, g, b], i) => plte.set([r, g, b], i * 3));
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('PLTE', plte), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  palette: Rgb[];
  /** Palette index per pixel (palette images with filter 0 only). */
  pixels: Uint8Array;
}

/**
 * Reads a PNG this module wrote (8-bit palette, unfiltered scanlines); throws on a bad signature,
 * a bad chunk CRC, missing chunks or scanlines of the wrong length.
 */
export function decodePalettePng(bytes: Uint8Array): DecodedPng {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG: bad signature');
  let offset = 8;
  let ihdr: Buffer | undefined;
  let palette: Rgb[] = [];
  const idat: Buffer[] = [];
  let ended = false;
  while (offset + 12 <= buf.length && !ended) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > buf.length) throw new Error(`chunk ${type} runs past the end`);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (crc32(buf.subarray(offset + 4, offset + 8 + length)) !== buf.readUInt32BE(offset + 8 + length)) throw new Error(`chunk ${type}: bad CRC`);
    if (type === 'IHDR') ihdr = data;
    else if (type === 'PLTE') palette = Array.from({ length: length / 3 }, (_, i) => [data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!] as const);
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') ended = true;
    offset = end;
  }
  if (!ihdr || ihdr.length !== 13) throw new Error('no IHDR');
  if (!ended) throw new Error('no IEND');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const bitDepth = ihdr[8]!;
  const colourType = ihdr[9]!;
  if (bitDepth !== 8 || colourType !== 3) throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colourType}`);
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== height * (width + 1)) throw new Error(`IDAT inflates to ${raw.length} bytes, expected ${height * (width + 1)}`);
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    if (raw[y * (width + 1)] !== 0) throw new Error(`row ${y}: filter ${raw[y * (width + 1)]} is not 0`);
    pixels.set(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  }
  if (pixels.some((p) => p >= palette.length)) throw new Error('a pixel indexes past the palette');
  return { width, height, bitDepth, colourType, palette, pixels };
}
