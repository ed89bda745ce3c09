import { describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { requires } from '../../../test/support/requires.ts';
import { OpusDecoder, opusAvailable } from './opus-native.ts';

// the real execFileSync, counted: the libopus search (`ldconfig -p`) must not run once per decoder
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  return { ...real, execFileSync: vi.fn(real.execFileSync) };
});

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('loadOpus', () => {
  it('searches for libopus once: later decoders (a new speaker, a decoder recreated after idle) spawn no ldconfig', () => {
    new OpusDecoder(2).close(); // loaded by now
    vi.mocked(execFileSync).mockClear();
    for (let i = 0; i < 20; i++) new OpusDecoder(2).close();
    expect(vi.mocked(execFileSync)).not.toHaveBeenCalled();
  });
});
