/**
 * Word error rate of every STT engine on real human read speech (test/fixtures/speech/corpus.json:
 * JFK plus pocketsphinx's LibriVox and "cards" test utterances, each file's sha256 checked) and on
 * synthetic speech from espeak-ng, side by side with pocketsphinx (Debian) as the weak baseline. The
 * default engine must reach WER ≤ 10 % on the real clean read speech. The table goes to
 * test-results/speech-wer.json and the log.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiEndpoint, OpenAiStt } from '../../server/src/speech/openai-driver.ts';
import type { LocalSpeechServer } from '../../server/src/speech/local-server.ts';
import { wordErrorRate } from '../../server/src/speech/wer.ts';
import { ROOT, speechInstalled, startSpeech } from './speech-support.ts';

interface Item {
  id: string;
  path: string;
  text: string;
  seconds: number;
  sha256: string;
}
const CORPUS = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/speech/corpus.json'), 'utf8')) as { items: Item[]; synthetic: { sentences: string[] } };
const DEFAULT_STT = 'whisper-tiny.en';
const WHISPER = ['whisper-tiny.en', 'whisper-base'];

function have(bin: string): boolean {
  try {
    execFileSync('which', [bin], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const installed = speechInstalled();
const baselineInstalled = have('pocketsphinx_batch') && existsSync('/usr/share/pocketsphinx/test/data/librivox');
if (!baselineInstalled && process.env.CI !== 'true') console.warn('speech WER: pocketsphinx or pocketsphinx-testdata missing (apt-get install pocketsphinx pocketsphinx-en-us pocketsphinx-testdata)');

/** pocketsphinx_batch over 16 kHz WAV files (44-byte headers): id → hypothesis. */
function pocketsphinx(files: Array<{ id: string; path: string }>): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'psb-'));
  try {
    for (const f of files) writeFileSync(join(dir, `${f.id}.wav`), readFileSync(f.path));
    writeFileSync(join(dir, 'ctl'), files.map((f) => f.id).join('\n') + '\n');
    execFileSync('pocketsphinx_batch', ['-adcin', 'yes', '-adchdr', '44', '-cepdir', dir, '-cepext', '.wav', '-ctl', join(dir, 'ctl'), '-hyp', join(dir, 'out.hyp'), '-logfn', '/dev/null'], { timeout: 600_000 });
    const out = new Map<string, string>();
    for (const line of readFileSync(join(dir, 'out.hyp'), 'utf8').split('\n')) {
      const m = /^(.*) \((\S+)(?: -?\d+)?\)$/.exec(line.trim());
      if (m) out.set(m[2]!, m[1]!);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!installed)('STT word error rate', { timeout: 900_000 }, () => {
  let server: LocalSpeechServer;
  let endpoint: OpenAiEndpoint;
  let synthDir: string;
  const real: Array<Item & { file: string }> = [];
  const synthetic: Array<{ id: string; file: string; text: string }> = [];
  const table: Record<string, Record<string, { wer: number; edits: number; words: number }>> = {};

  beforeAll(async () => {
    for (const item of CORPUS.items) {
      const file = isAbsolute(item.path) ? item.path : join(ROOT, item.path);
      if (!existsSync(file)) {
        if (process.env.CI === 'true' || !item.path.startsWith('/usr/share/pocketsphinx')) throw new Error(`${item.path} is missing (Debian package pocketsphinx-testdata)`);
        continue;
      }
      const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
      if (digest !== item.sha256) throw new Error(`${item.path}: sha256 ${digest} is not the corpus's ${item.sha256}`);
      real.push({ ...item, file });
    }
    synthDir = mkdtempSync(join(tmpdir(), 'espeak-'));
    CORPUS.synthetic.sentences.forEach((text, i) => {
      const raw = join(synthDir, `s${i}-22k.wav`);
      const file = join(synthDir, `synthetic-${i}.wav`);
      execFileSync('espeak-ng', ['-v', 'en-us', '-s', '175', '-w', raw, '--', text]);
      execFileSync('sox', [raw, '-r', '16000', '-b', '16', '-c', '1', file]);
      synthetic.push({ id: `synthetic-${i}`, file, text });
    });
    server = await startSpeech(2);
    endpoint = new OpenAiEndpoint({ name: 'local', baseUrl: server.url, timeoutMs: 600_000 });
  });
  afterAll(async () => {
    await server?.close();
    if (synthDir) rmSync(synthDir, { recursive: true, force: true });
    if (Object.keys(table).length > 0) {
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      writeFileSync(join(ROOT, 'test-results', 'speech-wer.json'), JSON.stringify({ seconds_real: real.reduce((s, i) => s + i.seconds, 0), table }, null, 2));
      console.log(['engine                 real WER   synthetic WER', ...Object.entries(table).map(([e, r]) => `${e.padEnd(22)} ${(100 * (r.real?.wer ?? NaN)).toFixed(1).padStart(7)} %  ${(100 * (r.synthetic?.wer ?? NaN)).toFixed(1).padStart(9)} %`)].join('\n'));
    }
  });

  const record = (engine: string, set: string, pairs: Array<{ reference: string; hypothesis: string }>) => {
    const r = wordErrorRate(pairs);
    (table[engine] ??= {})[set] = { wer: r.wer, edits: r.edits, words: r.referenceWords };
    return r;
  };

  for (const model of WHISPER) {
    it(`${model}: WER on real read speech and on espeak-ng speech`, async () => {
      expect(real.length).toBeGreaterThanOrEqual(CORPUS.items.length - (process.env.CI === 'true' ? 0 : 10));
      const stt = new OpenAiStt(endpoint, { model });
      const transcribe = async (file: string) => (await stt.transcribe({ file: { bytes: new Uint8Array(readFileSync(file)), name: basename(file) }, language: 'en' })).text;
      const realPairs = [];
      for (const item of real) realPairs.push({ reference: item.text, hypothesis: await transcribe(item.file) });
      const synthPairs = [];
      for (const s of synthetic) synthPairs.push({ reference: s.text, hypothesis: await transcribe(s.file) });
      const r = record(`faster-whisper ${model}`, 'real', realPairs);
      record(`faster-whisper ${model}`, 'synthetic', synthPairs);
      expect(r.referenceWords).toBeGreaterThan(80);
      if (model === DEFAULT_STT) expect(r.wer).toBeLessThanOrEqual(0.1);
    });
  }

  it.skipIf(!baselineInstalled && process.env.CI !== 'true')('pocketsphinx (baseline): WER on the same audio, worse than the default', () => {
    const hyps = pocketsphinx([...real, ...synthetic].map((x) => ({ id: x.id, path: x.file })));
    const r = record('pocketsphinx 5prealpha', 'real', real.map((i) => ({ reference: i.text, hypothesis: hyps.get(i.id) ?? '' })));
    record('pocketsphinx 5prealpha', 'synthetic', synthetic.map((s) => ({ reference: s.text, hypothesis: hyps.get(s.id) ?? '' })));
    expect(hyps.size).toBe(real.length + synthetic.length);
    const whisper = table[`faster-whisper ${DEFAULT_STT}`]?.real;
    if (whisper) expect(whisper.wer).toBeLessThan(r.wer);
  });
});
