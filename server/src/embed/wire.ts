/**
 * Vectors as bus attachments (`embed.vectors`, `embed.query.result`): rows of little-endian float32,
 * one after another. Written here because the layout is the project's own wire format; a DataView
 * makes it independent of the host's byte order and of the attachment's alignment (an attachment is a
 * view into the frame at any byte offset, so a Float32Array over it could fail to construct).
 */
import { PrometheanError } from '@promethean/shared';

/** The rows as one attachment: `vectors.length × dims` float32 values, little-endian. */
export function packVectors(vectors: readonly Float32Array[], dims: number): Uint8Array {
  const out = new Uint8Array(vectors.length * dims * 4);
  const view = new DataView(out.buffer);
  vectors.forEach((v, row) => {
    if (v.length !== dims) throw new PrometheanError('internal', `vector ${row} has ${v.length} values, expected ${dims}`);
    for (let i = 0; i < dims; i++) view.setFloat32((row * dims + i) * 4, v[i]!, true);
  });
  return out;
}

/**
 * The rows of an attachment. Throws PrometheanError('schema') naming `path` when its size is not
 * `rows × dims × 4` bytes or a value is not finite (a NaN would poison every distance).
 */
export function unpackVectors(bytes: Uint8Array | undefined, rows: number, dims: number, path = 'attachment'): Float32Array[] {
  const expected = rows * dims * 4;
  if (!bytes) throw new PrometheanError('schema', `${path}: missing (${rows} rows of ${dims} float32 expected)`, { path });
  if (bytes.byteLength !== expected) {
    throw new PrometheanError('schema', `${path}: ${bytes.byteLength} bytes, expected ${expected} (${rows} rows × ${dims} float32)`, { path });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Float32Array[] = [];
  for (let row = 0; row < rows; row++) {
    const v = new Float32Array(dims);
    for (let i = 0; i < dims; i++) {
      const x = view.getFloat32((row * dims + i) * 4, true);
      if (!Number.isFinite(x)) throw new PrometheanError('schema', `${path}: row ${row} value ${i} is not finite`, { path });
      v[i] = x;
    }
    out.push(v);
  }
  return out;
}
