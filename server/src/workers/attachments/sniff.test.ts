import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { requires } from '../../../../test/support/requires.ts';
import { sniffContentType } from './sniff.ts';

const hasFile = (() => {
  try {
    execFileSync('file', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const available = requires('file(1) for reference media types', hasFile, 'apt-get install -y file');
const hasSox = (() => {
  try {
    execFileSync('sox', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Real files: written by sox (audio) or built from the formats' headers; `file --mime-type` is the reference. */
function samples(dir: string): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  const put = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    out.push({ name, path });
  };
  put('a.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde])]));
  put('a.gif', Buffer.concat([Buffer.from('GIF89a'), Buffer.from([1, 0, 1, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b])]));
  put('a.pdf', Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n'));
  put('a.gz', gzipSync(Buffer.from('hello gzip')));
  put('a.txt', Buffer.from('plain words, über and 🎙️\nsecond line\n'));
  if (hasSox) {
    for (const ext of ['wav', 'flac', 'ogg']) {
      const path = join(dir, `a.${ext}`);
      try {
        execFileSync('sox', ['-n', '-r', '16000', '-c', '1', path, 'synth', '0.05', 'sine', '440'], { stdio: 'ignore' });
        out.push({ name: `a.${ext}`, path });
      } catch {
        /* this sox lacks the format */
      }
    }
  }
  return out;
}

/** `file` names a few types differently; these are the same media types. */
const ALIASES: Record<string, string> = { 'audio/x-wav': 'audio/wav', 'audio/x-flac': 'audio/flac', 'application/x-gzip': 'application/gzip' };

describe.skipIf(!available)('sniffContentType()', () => {
  it('agrees with file(1) on real files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sniff-'));
    const files = samples(dir);
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const reference = execFileSync('file', ['--mime-type', '-b', f.path]).toString().trim();
      expect(`${f.name}: ${sniffContentType(readFileSync(f.path))}`).toBe(`${f.name}: ${ALIASES[reference] ?? reference}`);
    }
  });

  it('calls bytes with control characters or invalid UTF-8 octet-stream', () => {
    expect(sniffContentType(new Uint8Array([0x00, 0x01, 0x02, 0x03]))).toBe('application/octet-stream');
    expect(sniffContentType(new Uint8Array([0xc3, 0x28, 0x41]))).toBe('application/octet-stream');
    expect(sniffContentType(new Uint8Array([]))).toBe('application/octet-stream');
  });
});
