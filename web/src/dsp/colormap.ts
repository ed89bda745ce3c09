/**
 * Colour maps as 256-entry RGBA tables for the spectrogram shader. Pure. `magma`-like and `viridis`-like
 * ramps are interpolated from a handful of their published anchor colours (perceptually ordered, dark
 * for quiet); `gray` is linear.
 */
export type ColormapName = 'viridis' | 'magma' | 'gray';

const ANCHORS: Record<Exclude<ColormapName, 'gray'>, [number, number, number][]> = {
  viridis: [
    [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
  ],
  magma: [
    [0, 0, 4], [28, 16, 68], [79, 18, 123], [129, 37, 129], [181, 54, 122], [229, 80, 100], [251, 135, 97], [254, 194, 135], [252, 253, 191],
  ],
};

export function colormap(name: ColormapName): Uint8Array {
  const lut = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    let rgb: [number, number, number];
    if (name === 'gray') rgb = [i, i, i];
    else {
      const a = ANCHORS[name];
      const x = (i / 255) * (a.length - 1);
      const k = Math.min(a.length - 2, Math.floor(x));
      const t = x - k;
      rgb = [0, 1, 2].map((c) => Math.round(a[k]![c]! * (1 - t) + a[k + 1]![c]! * t)) as [number, number, number];
    }
    lut.set([...rgb, 255], i * 4);
  }
  return lut;
}
