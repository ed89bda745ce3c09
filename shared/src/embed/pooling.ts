/** Pure vector helpers over typed arrays: masked mean pooling, L2 normalisation, cosine similarity. */

/**
 * Masked mean of token vectors: `hidden` is `[batch, tokens, dims]` row-major, `mask` is `[batch, tokens]`
 * (1 for a real token, 0 for padding). Returns one vector per batch row. A row with no unmasked token
 * gives zeros (sentence-transformers clamps the divisor the same way).
 */
export function meanPool(hidden: ArrayLike<number>, mask: ArrayLike<number | bigint>, batch: number, tokens: number, dims: number): Float32Array[] {
  if (hidden.length !== batch * tokens * dims) throw new RangeError(`hidden has ${hidden.length} values, expected ${batch}×${tokens}×${dims}`);
  if (mask.length !== batch * tokens) throw new RangeError(`mask has ${mask.length} values, expected ${batch}×${tokens}`);
  const out: Float32Array[] = [];
  // Accumulate in float64 and divide once, as PyTorch's sum-then-divide does in float32 with less rounding.
  const acc = new Float64Array(dims);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < tokens; t++) {
      if (Number(mask[b * tokens + t]) === 0) continue;
      count++;
      const base = (b * tokens + t) * dims;
      for (let d = 0; d < dims; d++) acc[d]! += hidden[base + d]!;
    }
    const v = new Float32Array(dims);
    const div = Math.max(count, 1e-9);
    for (let d = 0; d < dims; d++) v[d] = acc[d]! / div;
    out.push(v);
  }
  return out;
}

/** Scales `v` in place to unit length (a zero vector stays zero, as `torch.nn.functional.normalize` with eps 1e-12). */
export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.max(Math.sqrt(sum), 1e-12);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Cosine similarity in [-1, 1]; 0 when either vector is zero. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb);
}
