/** `promethean dsp`: the JSON files it writes against librosa / Whisper references, and its errors. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../main.ts';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/dsp/', import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dsp-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface SpecJson {
  sample_rate: number;
  n_mels: number;
  n_frames: number;
  data: number[][];
}

async function run(...argv: string[]): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    return { code: await main(argv), stderr: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

async function json<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

function relErr(got: SpecJson, want: SpecJson): number {
  expect([got.n_mels, got.n_frames, got.data.length, got.data[0]!.length]).toEqual([want.n_mels, want.n_frames, want.n_mels, want.n_frames]);
  let err = 0;
  let max = 0;
  for (let m = 0; m < want.n_mels; m++) {
    for (let t = 0; t < want.n_frames; t++) {
      err = Math.max(err, Math.abs(got.data[m]![t]! - want.data[m]![t]!));
      max = Math.max(max, Math.abs(want.data[m]![t]!));
    }
  }
  return err / max;
}

describe('promethean dsp mel', () => {
  it('writes librosa 0.11 melspectrogram values for the flags given (slaney, pad constant)', async () => {
    const out = join(dir, 'mel.json');
    const r = await run('dsp', 'mel', join(FIXTURES, 'reference/ref_mel_16k_input.wav'), '--out', out, '--n-fft', '512', '--hop', '160', '--win', '400', '--n-mels', '64', '--fmin', '20', '--fmax', '7600');
    expect(r.code).toBe(0);
    const got = await json<SpecJson>(out);
    expect(got.sample_rate).toBe(16000);
    expect(relErr(got, await json<SpecJson>(join(FIXTURES, 'reference/ref_mel_16k.json')))).toBeLessThanOrEqual(1e-4);
  });

  it('honours --htk --norm none --power 1 --pad reflect', async () => {
    const out = join(dir, 'htk.json');
    const r = await run('dsp', 'mel', join(FIXTURES, 'reference/ref_mel_16k_input.wav'), '--out', out, '--n-fft', '512', '--hop', '160', '--win', '400', '--n-mels', '40', '--fmin', '20', '--fmax', '7600', '--htk', '--norm', 'none', '--power', '1', '--pad', 'reflect');
    expect(r.code).toBe(0);
    expect(relErr(await json<SpecJson>(out), await json<SpecJson>(join(FIXTURES, 'reference/ref_mel_16k_htk_reflect.json')))).toBeLessThanOrEqual(1e-4);
  });

  it('honours --no-center, and uses librosa defaults for flags not given', async () => {
    const out = join(dir, 'nc.json');
    expect((await run('dsp', 'mel', join(FIXTURES, 'gen/no_center_22050_input.wav'), '--out', out, '--n-fft', '1024', '--hop', '256', '--n-mels', '64', '--no-center')).code).toBe(0);
    expect(relErr(await json<SpecJson>(out), await json<SpecJson>(join(FIXTURES, 'gen/no_center_22050.json')))).toBeLessThanOrEqual(1e-4);
    const def = join(dir, 'def.json');
    expect((await run('dsp', 'mel', join(FIXTURES, 'gen/librosa_defaults_22050_input.wav'), '--out', def)).code).toBe(0);
    expect(relErr(await json<SpecJson>(def), await json<SpecJson>(join(FIXTURES, 'gen/librosa_defaults_22050.json')))).toBeLessThanOrEqual(1e-4);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE s24 stereo', async () => {
    const out = join(dir, 'ext.json');
    expect((await run('dsp', 'mel', join(FIXTURES, 'gen/wav_ext_s24_stereo.wav'), '--out', out, '--n-fft', '256', '--n-mels', '20')).code).toBe(0);
    const got = await json<SpecJson>(out);
    expect([got.sample_rate, got.n_mels]).toEqual([11025, 20]);
  });
});

describe('promethean dsp logmel --preset whisper', () => {
  it("writes Whisper's log-mel to within 1e-3", async () => {
    const out = join(dir, 'logmel.json');
    expect((await run('dsp', 'logmel', join(FIXTURES, 'reference/ref_whisper_logmel_input.wav'), '--preset', 'whisper', '--out', out)).code).toBe(0);
    const got = await json<SpecJson>(out);
    const want = await json<SpecJson>(join(FIXTURES, 'reference/ref_whisper_logmel.json'));
    expect(relErr(got, want) * Math.max(...want.data.flat().map(Math.abs))).toBeLessThanOrEqual(1e-3);
  });
});

describe('promethean dsp vad', () => {
  it('writes 32 ms probabilities and one segment per phrase of the JFK clip', async () => {
    const out = join(dir, 'vad.json');
    expect((await run('dsp', 'vad', join(FIXTURES, '../audio/jfk_16k.wav'), '--out', out)).code).toBe(0);
    const got = await json<{ frame_ms: number; probs: number[]; segments: Array<{ start: number; end: number }> }>(out);
    expect(got.frame_ms).toBe(32);
    expect(got.probs.length).toBe(Math.floor((11 * 16000) / 512));
    expect(got.segments.length).toBe(4);
    for (const s of got.segments) expect(s.end).toBeGreaterThan(s.start);
  });
});

describe('promethean dsp errors', () => {
  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    ['an empty file', async () => writeBytes('empty.wav', new Uint8Array(0)), /empty/],
    ['a file that is not a WAV', async () => writeBytes('text.wav', new TextEncoder().encode('hello, this is not audio')), /not a WAV/],
    ['8-bit PCM', async () => join(FIXTURES, 'gen/wav_u8.wav'), /8-bit/],
    ['a truncated file', async () => writeBytes('cut.wav', (await readFile(join(FIXTURES, 'gen/wav_s16.wav'))).subarray(0, 300)), /truncated/],
    ['a float file holding NaN', async () => writeBytes('nan.wav', nanWav()), /NaN/],
  ];
  async function writeBytes(name: string, bytes: Uint8Array): Promise<string> {
    const p = join(dir, name);
    await writeFile(p, bytes);
    return p;
  }
  function nanWav(): Uint8Array {
    const b = Buffer.alloc(44 + 16);
    b.write('RIFF', 0, 'ascii');
    b.writeUInt32LE(36 + 16, 4);
    b.write('WAVEfmt ', 8, 'ascii');
    b.writeUInt32LE(16, 16);
    b.writeUInt16LE(3, 20);
    b.writeUInt16LE(1, 22);
    b.writeUInt32LE(16000, 24);
    b.writeUInt32LE(64000, 28);
    b.writeUInt16LE(4, 32);
    b.writeUInt16LE(32, 34);
    b.write('data', 36, 'ascii');
    b.writeUInt32LE(16, 40);
    b.writeFloatLE(Number.NaN, 48);
    return b;
  }
  for (const [what, make, message] of cases) {
    it(`exits 1 with one clear error for ${what}`, async () => {
      const r = await run('dsp', 'mel', await make(), '--out', join(dir, 'never.json'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n')).toHaveLength(1);
    });
  }

  it('exits 2 naming the flag for a bad flag value or a missing --out', async () => {
    const wav = join(FIXTURES, 'gen/wav_s16.wav');
    expect((await run('dsp', 'mel', wav, '--out', join(dir, 'x.json'), '--pad', 'edge')).stderr).toMatch(/--pad/);
    expect((await run('dsp', 'mel', wav)).code).toBe(2);
    expect((await run('dsp', 'logmel', wav, '--preset', 'htk', '--out', join(dir, 'x.json'))).stderr).toMatch(/--preset/);
    expect((await run('dsp', 'spectrum', wav)).code).toBe(2);
  });
});

describe('promethean dsp progress', () => {
  it('reports progress on stderr for a file over 60 s', async () => {
    const rate = 8000;
    const seconds = 61;
    const b = Buffer.alloc(44 + rate * seconds * 2);
    b.write('RIFF', 0, 'ascii');
    b.writeUInt32LE(b.length - 8, 4);
    b.write('WAVEfmt ', 8, 'ascii');
    b.writeUInt32LE(16, 16);
    b.writeUInt16LE(1, 20);
    b.writeUInt16LE(1, 22);
    b.writeUInt32LE(rate, 24);
    b.writeUInt32LE(rate * 2, 28);
    b.writeUInt16LE(2, 32);
    b.writeUInt16LE(16, 34);
    b.write('data', 36, 'ascii');
    b.writeUInt32LE(rate * seconds * 2, 40);
    for (let i = 0; i < rate * seconds; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / rate)), 44 + 2 * i);
    const input = join(dir, 'long.wav');
    await writeFile(input, b);
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect((await run('dsp', 'mel', input, '--out', join(dir, 'long.json'), '--n-fft', '256', '--hop', '64', '--n-mels', '32')).code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const steps = written.join('').split(/[\r\n]/).filter((l) => l.startsWith('dsp mel: ') && l.endsWith('%'));
    expect(steps.length).toBeGreaterThan(3);
    expect(steps.at(-1)).toBe('dsp mel: 100%');
  });
});
