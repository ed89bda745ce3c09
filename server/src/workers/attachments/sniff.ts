/**
 * Content-type sniffing by magic bytes. Written here rather than taken from a library: none is a
 * dependency of the project, and the attachment indexer needs only the signatures of the files people
 * post (images, audio, video, documents, archives); everything else is `application/octet-stream`,
 * or `text/plain` when the bytes are valid UTF-8 without control characters.
 */

const ascii = (bytes: Uint8Array, at: number, text: string): boolean => {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};
const starts = (bytes: Uint8Array, sig: readonly number[]): boolean => bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);

/** The media type the first bytes announce. */
export function sniffContentType(bytes: Uint8Array): string {
  if (starts(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return 'image/gif';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'image/webp';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WAVE')) return 'audio/wav';
  if (ascii(bytes, 4, 'ftyp')) return ascii(bytes, 8, 'qt  ') ? 'video/quicktime' : ascii(bytes, 8, 'M4A ') ? 'audio/mp4' : 'video/mp4';
  if (starts(bytes, [0x1a, 0x45, 0xdf, 0xa3])) return 'video/webm';
  if (ascii(bytes, 0, 'OggS')) return 'audio/ogg';
  if (ascii(bytes, 0, 'fLaC')) return 'audio/flac';
  if (ascii(bytes, 0, 'ID3') || (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0)) return 'audio/mpeg';
  if (ascii(bytes, 0, '%PDF-')) return 'application/pdf';
  if (starts(bytes, [0x50, 0x4b, 0x03, 0x04])) return 'application/zip';
  if (starts(bytes, [0x1f, 0x8b])) return 'application/gzip';
  if (ascii(bytes, 0, 'BM') && bytes.length >= 14) return 'image/bmp';
  if (isText(bytes)) return 'text/plain';
  return 'application/octet-stream';
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Valid UTF-8 (the first 4 KiB) with no control characters besides tab, newline and carriage return. */
function isText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  // A cut in the middle of a multi-byte character at 4 KiB is fine: drop up to 3 trailing bytes.
  const head = bytes.subarray(0, 4096);
  for (let trim = 0; trim <= (bytes.length > 4096 ? 3 : 0); trim++) {
    try {
      const text = decoder.decode(head.subarray(0, head.length - trim));
      return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text);
    } catch {
      /* try one byte shorter */
    }
  }
  return false;
}
