/**
 * `promethean tap <topic-pattern> --out <dir> [--duration s]`: subscribes like any bus client and writes
 * `<dir>/envelopes.jsonl` (every envelope, attachments omitted) and `voice.audio.pcm` as
 * `<dir>/<session>/<user>.wav`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUS_PCM_FORMAT, PrometheanError, isTopicPattern, type Envelope } from '@promethean/shared';
import { numberFlag, parseFlags, type Command } from '../args.ts';
import { connectToHub, locateHub } from '../hub-connection.ts';
import { WavStream } from '../wav-stream.ts';

/** Keeps path segments to a safe alphabet so ids from the wire cannot climb out of `--out`. */
export function safeSegment(value: string): string {
  const s = value.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  return s.length === 0 ? '_' : s.slice(0, 100);
}

export interface TapRecorder {
  onEnvelope(env: Envelope, attachments: Uint8Array[]): void;
  close(): Promise<{ envelopes: number; wavs: string[] }>;
}

/** Writes what a tap sees; exported for tests. */
export async function createTapRecorder(outDir: string): Promise<TapRecorder> {
  await mkdir(outDir, { recursive: true });
  const jsonl = createWriteStream(join(outDir, 'envelopes.jsonl'));
  const wavs = new Map<string, Promise<WavStream>>();
  let envelopes = 0;
  const pending = new Set<Promise<void>>();
  return {
    onEnvelope(env, attachments) {
      envelopes += 1;
      jsonl.write(`${JSON.stringify(env)}\n`);
      if (env.intent !== 'voice.audio.pcm') return;
      const p = env.payload as { session_id: string; user_id: string; format: { rate_hz: number; channels: number }; attachment?: number };
      const pcm = attachments[p.attachment ?? 0];
      if (!pcm) return;
      const key = `${safeSegment(p.session_id)}/${safeSegment(p.user_id)}`;
      let w = wavs.get(key);
      if (!w) {
        w = mkdir(join(outDir, safeSegment(p.session_id)), { recursive: true }).then(() =>
          WavStream.create(join(outDir, `${key}.wav`), { sampleRate: p.format.rate_hz ?? BUS_PCM_FORMAT.rate_hz, channels: p.format.channels ?? 1 }),
        );
        wavs.set(key, w);
      }
      const done = w.then((s) => s.append(pcm));
      pending.add(done);
      void done.finally(() => pending.delete(done));
    },
    async close() {
      await Promise.all(pending);
      const streams = await Promise.all(wavs.values());
      await Promise.all(streams.map((s) => s.close()));
      await new Promise<void>((r) => jsonl.end(r));
      return { envelopes, wavs: streams.map((s) => s.path) };
    },
  };
}

export const tapCommand: Command = {
  name: 'tap',
  summary: 'record what the bus carries: envelopes.jsonl and one WAV per (session, user)',
  usage: `Usage: promethean tap <topic-pattern> --out <dir> [--duration s] [--data-dir DIR] [--hub URL --token-file FILE]

The pattern is a full topic pattern with NATS wildcards, e.g.
  promethean tap 'promethean.p.discord.t.*.voice.audio.pcm' --out rec/ --duration 10
It finds the running hub through the runtime file in the data directory.

Options:
  --out <dir>         where to write envelopes.jsonl and <session>/<user>.wav (required)
  --duration <s>      stop after this many seconds (default: until Ctrl-C)
  --data-dir <dir>    data directory of the running hub (default .data)
  --hub <url>         hub WebSocket URL instead of the runtime file's
  --token-file <file> agent key file instead of the runtime file's
  -h, --help          this text`,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      { out: { type: 'string' }, duration: { type: 'string' }, 'data-dir': { type: 'string' }, hub: { type: 'string' }, 'token-file': { type: 'string' } },
      true,
    );
    const [pattern, ...extra] = positionals;
    if (pattern === undefined) throw new PrometheanError('bad_flag', 'a topic pattern is required, e.g. promethean.p.discord.t.*.voice.audio.pcm');
    if (extra.length > 0) throw new PrometheanError('bad_flag', `unexpected argument "${extra[0]}"`);
    if (!isTopicPattern(pattern)) throw new PrometheanError('bad_flag', `"${pattern}" is not a topic pattern (tokens [A-Za-z0-9_-], "*" for one token, ">" last)`);
    if (values.out === undefined) throw new PrometheanError('bad_flag', '--out <dir> is required');
    const duration = numberFlag('duration', values.duration, 0.001, 86400 * 7);
    const location = await locateHub({ dataDir: resolve(values['data-dir'] ?? '.data'), as: 'tap', ...(values.hub ? { hub: values.hub } : {}), ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) });
    const recorder = await createTapRecorder(resolve(values.out));
    const client = await connectToHub(location);
    const sub = client.subscribe(pattern, (env, attachments) => recorder.onEnvelope(env, attachments));
    await sub.ready;
    console.error(`tap: recording ${pattern} into ${resolve(values.out)}${duration ? ` for ${duration} s` : ' (Ctrl-C to stop)'}`);
    await new Promise<void>((done) => {
      const stop = () => done();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (duration) setTimeout(stop, duration * 1000).unref();
    });
    client.close();
    const summary = await recorder.close();
    console.error(`tap: ${summary.envelopes} envelopes, ${summary.wavs.length} WAV file(s)`);
    for (const w of summary.wavs) console.log(w);
    return 0;
  },
};
