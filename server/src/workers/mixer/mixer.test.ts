import { describe, expect, it } from 'vitest';
import { makeEnvelope, PrometheanError, type Envelope, type PayloadOf } from '@promethean/shared';
import { Mixer, type MixerFrame } from './mixer.ts';
import { resampleMono, toStereo48k } from './resample.ts';
import { MixerWorker, type MixerRuntime } from './worker.ts';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { loadManifest } from '@promethean/shared/node';

/** Resolves once `predicate` holds (checked every 10 ms; the mixer's clock is real time). */
async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Amplitude of the `freq` component of `x` (Goertzel), for a tone's level under another. */
function toneAmplitude(x: Float32Array, freq: number, rate = 48000): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0, s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const re = s1 - s2 * Math.cos(w);
  const im = s2 * Math.sin(w);
  return (2 * Math.sqrt(re * re + im * im)) / x.length;
}

/** The left channel of frames laid end to end. */
function leftOf(frames: { pcm: Int16Array }[]): Float32Array {
  const out = new Float32Array(frames.length * 960);
  frames.forEach((f, k) => {
    for (let i = 0; i < 960; i++) out[k * 960 + i] = f.pcm[2 * i]!;
  });
  return out;
}

function stereoOf(mono: Float32Array): Int16Array {
  const out = new Int16Array(mono.length * 2);
  for (let i = 0; i < mono.length; i++) out[2 * i] = out[2 * i + 1] = Math.round(mono[i]!);
  return out;
}

function sine(freq: number, rate: number, seconds: number, amp = 10000): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Signal-to-error ratio in dB against the ideal signal, ignoring `edge` samples at each end. */
function snrDb(got: Float32Array | Int16Array, ideal: Float32Array, edge: number, step = 1, offset = 0): number {
  let s = 0, e = 0;
  for (let i = edge; i < ideal.length - edge; i++) {
    const g = got[i * step + offset]!;
    s += ideal[i]! ** 2;
    e += (g - ideal[i]!) ** 2;
  }
  return 10 * Math.log10(s / e);
}

describe('resample', () => {
  it('resampleMono() turns a 1 kHz tone at 24 kHz into the ideal 1 kHz tone at 48 kHz (SNR > 50 dB)', () => {
    const out = resampleMono(sine(1000, 24000, 0.5), 24000, 48000);
    expect(out.length).toBe(24000);
    expect(snrDb(out, sine(1000, 48000, 0.5), 200)).toBeGreaterThan(50);
  });

  it('resampleMono() turns a 440 Hz tone at 22.05 kHz into the ideal tone at 48 kHz (SNR > 50 dB)', () => {
    const out = resampleMono(sine(440, 22050, 0.5), 22050, 48000);
    expect(snrDb(out, sine(440, 48000, 0.5), 400)).toBeGreaterThan(50);
  });

  it('toStereo48k() applies gain_db (−6.02 dB halves the amplitude) and duplicates mono into both channels', () => {
    const mono = Int16Array.from(sine(1000, 48000, 0.1), (v) => Math.round(v));
    const out = toStereo48k(mono, 48000, 1, -20 * Math.log10(2));
    expect(out.length).toBe(mono.length * 2);
    for (let i = 0; i < mono.length; i += 97) {
      expect(Math.abs(out[2 * i]! - mono[i]! / 2)).toBeLessThanOrEqual(1);
      expect(out[2 * i + 1]).toBe(out[2 * i]);
    }
  });

  it('toStereo48k() clips at the s16 range instead of wrapping', () => {
    const out = toStereo48k(Int16Array.of(30000, -30000), 48000, 1, 12);
    expect(Array.from(out)).toEqual([32767, 32767, -32768, -32768]);
  });

  it('resampleMono() rejects a non-positive rate with a RangeError', () => {
    expect(() => resampleMono(new Float32Array(4), 0, 48000)).toThrow(RangeError);
  });
});

describe('Mixer', () => {
  it('plays two overlapping requests of one session one after the other, 20 ms frames in real time', async () => {
    const frames: Array<MixerFrame & { t: number }> = [];
    const mixer = new Mixer((f) => frames.push({ ...f, t: performance.now() }), { fadeMs: 0 });
    const a = new Int16Array(960 * 2 * 3).fill(100); // 60 ms
    const b = new Int16Array(960 * 2 * 2 + 200).fill(200); // 40 ms + 100 samples
    const start = performance.now();
    mixer.enqueue({ provider: 'discord', tenant: 'demo', sessionId: 's1', playId: 'a', stereo: a });
    mixer.enqueue({ provider: 'discord', tenant: 'demo', sessionId: 's1', playId: 'b', stereo: b });
    await until(() => frames.length === 6);
    expect(frames.map((f) => `${f.playId}:${f.seq}:${f.last}`)).toEqual(['a:0:false', 'a:1:false', 'a:2:true', 'b:3:false', 'b:4:false', 'b:5:true']);
    expect(frames[5]!.pcm[199]).toBe(200);
    expect(frames[5]!.pcm[200]).toBe(0); // zero-padded tail
    // on a real-time clock: frame k never leaves before 20·k ms after the request came (a late timer
    // catches up, so how late a loaded machine sends them is a question for the benchmarks)
    frames.forEach((f, k) => expect(f.t - start).toBeGreaterThanOrEqual(20 * k));
    mixer.close();
  });

  it('keeps separate sessions independent (each starts at seq 0)', async () => {
    const frames: MixerFrame[] = [];
    const mixer = new Mixer((f) => frames.push(f));
    mixer.enqueue({ provider: 'discord', tenant: 'demo', sessionId: 'x', stereo: new Int16Array(1920) });
    mixer.enqueue({ provider: 'discord', tenant: 'demo', sessionId: 'y', stereo: new Int16Array(1920) });
    await until(() => frames.length === 2);
    expect(frames.map((f) => `${f.sessionId}:${f.seq}`).sort()).toEqual(['x:0', 'y:0']);
    mixer.close();
  });

  it('ducks a background tone by ducking_db while a main request plays, with ramps and edge fades that do not click', async () => {
    const frames: MixerFrame[] = [];
    const mixer = new Mixer((f) => frames.push(f));
    const route = { provider: 'discord', tenant: 'demo', sessionId: 's1' };
    // 1.2 s of a 440 Hz background tone; a 0.5 s 3 kHz "answer" asking for −12 dB, both at once
    mixer.enqueue({ ...route, playId: 'bed', lane: 'background', stereo: stereoOf(sine(440, 48000, 1.2, 8000)) });
    mixer.enqueue({ ...route, playId: 'answer', duckingDb: -12, stereo: stereoOf(sine(3000, 48000, 0.5, 8000)) });
    await until(() => frames.length === 60);
    // the first request starts the session's clock at once (frame 0: the bed alone); frames carry
    // the main request's id while it plays (frames 1–25), then the background's
    expect(frames[0]!.playId).toBe('bed');
    expect(frames.slice(1, 26).every((f) => f.playId === 'answer')).toBe(true);
    expect(frames[25]!.last).toBe(true);
    expect(frames.slice(26).every((f) => f.playId === 'bed')).toBe(true);
    expect(frames.at(-1)!.last).toBe(true);
    const left = leftOf(frames);
    const at = (fromS: number, toS: number) => left.subarray(Math.round(fromS * 48000), Math.round(toS * 48000));
    const full = toneAmplitude(at(0.8, 1.1), 440);
    const ducked = toneAmplitude(at(0.1, 0.45), 440); // after the 50 ms ramp, before the answer ends
    expect(full).toBeGreaterThan(7900);
    expect(20 * Math.log10(ducked / full)).toBeCloseTo(-12, 0); // ± 0.5 dB
    expect(Math.abs(20 * Math.log10(ducked / full) + 12)).toBeLessThan(1);
    expect(toneAmplitude(at(0.1, 0.45), 3000)).toBeGreaterThan(7900); // the answer itself is not ducked
    // no click: no step between neighbouring samples beyond what the two tones themselves make
    // (3 kHz at 8000 + 440 Hz at 8000: at most 2π·3000/48000·8000 + 2π·440/48000·8000 ≈ 3600)
    let worst = 0;
    for (let i = 1; i < left.length; i++) worst = Math.max(worst, Math.abs(left[i]! - left[i - 1]!));
    expect(worst).toBeLessThan(3700);
    // and the edges fade: the first sample of the output and the answer's last are near zero
    expect(Math.abs(left[0]!)).toBeLessThan(100);
    mixer.close();
  });

  it('a request that starts mid-waveform fades in instead of stepping from 0 to full scale', async () => {
    const frames: MixerFrame[] = [];
    const mixer = new Mixer((f) => frames.push(f));
    mixer.enqueue({ provider: 'discord', tenant: 'demo', sessionId: 's', stereo: new Int16Array(960 * 2 * 2).fill(20000) });
    await until(() => frames.length === 2);
    const left = leftOf(frames);
    let worst = 0;
    for (let i = 1; i < left.length; i++) worst = Math.max(worst, Math.abs(left[i]! - left[i - 1]!));
    expect(left[0]!).toBeLessThan(100);
    expect(left[500]).toBe(20000);
    expect(worst).toBeLessThan(20000 / 100); // 5 ms = 240 samples of raised cosine: at most ~π/2·20000/240 per sample
    mixer.close();
  });

  it('stop() drops what a session has playing and queued at once, and the session can play again', async () => {
    const frames: MixerFrame[] = [];
    const mixer = new Mixer((f) => frames.push(f));
    const route = { provider: 'discord', tenant: 'demo', sessionId: 's' };
    mixer.enqueue({ ...route, playId: 'long', stereo: new Int16Array(48000 * 2 * 5) });
    mixer.enqueue({ ...route, playId: 'next', stereo: new Int16Array(1920) });
    mixer.enqueue({ ...route, playId: 'bed', lane: 'background', stereo: new Int16Array(48000 * 2 * 5) });
    await until(() => frames.length >= 3);
    expect(mixer.stop('discord', 'demo', 'other')).toBe(0);
    expect(mixer.stop('discord', 'demo', 's')).toBe(3);
    const stoppedAt = frames.length;
    expect(mixer.depth).toBe(0);
    mixer.enqueue({ ...route, playId: 'after', stereo: new Int16Array(1920) });
    await until(() => frames.some((f) => f.playId === 'after'));
    expect(frames.slice(stoppedAt).map((f) => f.playId)).toEqual(['after']);
    mixer.close();
  });
});

/** Records what the worker publishes; stands in for the agent runtime's bus side only. */
class RecordingRuntime implements MixerRuntime {
  readonly published: Array<{ payload: PayloadOf<'voice.play.pcm.out'>; provider: string; tenant: string; pcm: Int16Array }> = [];
  handler: ((env: Envelope, att: Uint8Array[]) => void | Promise<void>) | undefined;
  stopHandler: ((env: Envelope, att: Uint8Array[]) => void | Promise<void>) | undefined;
  subscribe(pattern: string, handler: (env: Envelope, att: Uint8Array[]) => void | Promise<void>): void {
    if (pattern.endsWith('.voice.play.stop')) this.stopHandler = handler;
    else this.handler = handler;
  }
  publish(_intent: 'voice.play.pcm.out', payload: PayloadOf<'voice.play.pcm.out'>, options: { provider: string; tenant: string; attachments?: readonly Uint8Array[] }): void {
    const a = options.attachments![0]!;
    this.published.push({ payload, provider: options.provider, tenant: options.tenant, pcm: new Int16Array(a.slice().buffer) });
  }
}

describe('MixerWorker', () => {
  it('turns a 24 kHz mono voice.play.pcm into 48 kHz stereo voice.play.pcm.out frames on the same tenant', async () => {
    const rt = new RecordingRuntime();
    const worker = new MixerWorker(rt);
    worker.start();
    const pcm = Int16Array.from(sine(500, 24000, 0.1), (v) => Math.round(v));
    const env = makeEnvelope('voice.play.pcm', { session_id: 'g1', format: { rate_hz: 24000, channels: 1, codec: 'pcm_s16le' }, gain_db: 0, play_id: 'tts-1', attachment: 0 }, { src: 'tts', provider: 'discord', tenant: 'demo' });
    await rt.handler!(env as Envelope, [new Uint8Array(pcm.buffer)]);
    await until(() => rt.published.length === 5);
    expect(rt.published.every((p) => p.provider === 'discord' && p.tenant === 'demo' && p.payload.play_id === 'tts-1')).toBe(true);
    expect(rt.published.map((p) => p.payload.last)).toEqual([false, false, false, false, true]);
    const left = new Float32Array(4800);
    rt.published.forEach((p, k) => p.pcm.forEach((v, i) => i % 2 === 0 && (left[k * 960 + i / 2] = v)));
    expect(snrDb(left, sine(500, 48000, 0.1), 300)).toBeGreaterThan(40);
    worker.stop();
  });

  it('voice.play.stop drops the session\'s playback; a malformed stop is a typed error', async () => {
    const rt = new RecordingRuntime();
    const worker = new MixerWorker(rt);
    worker.start();
    const route = { src: 'tts', provider: 'discord', tenant: 'demo' };
    const play = makeEnvelope('voice.play.pcm', { session_id: 'g1', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, play_id: 'long', ducking_db: -12, attachment: 0 }, route);
    await rt.handler!(play as Envelope, [new Uint8Array(48000 * 2 * 5)]);
    await until(() => rt.published.length >= 2);
    expect(worker.mixer.depth).toBe(1);
    const stop = makeEnvelope('voice.play.stop', { session_id: 'g1', reason: 'silenced' }, route);
    await rt.stopHandler!(stop as Envelope, []);
    expect(worker.mixer.depth).toBe(0);
    const bad = makeEnvelope('voice.play.stop', { session_id: '' } as never, route);
    await expect(async () => rt.stopHandler!(bad as Envelope, [])).rejects.toMatchObject({ code: 'schema' });
    worker.stop();
  });

  it('after a stop the session\'s main lane is held: a late reply is refused, a console\'s "say this", the background and other sessions play, and the hold ends', async () => {
    const rt = new RecordingRuntime();
    let now = 1000;
    const worker = new MixerWorker(rt, { holdAfterStopMs: 10_000, now: () => now });
    worker.start();
    const route = { src: 'tts', provider: 'discord', tenant: 'demo' };
    const play = (session: string, playId: string, lane?: 'background') =>
      rt.handler!(makeEnvelope('voice.play.pcm', { session_id: session, format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, play_id: playId, attachment: 0, ...(lane ? { lane } : {}) }, route) as Envelope, [new Uint8Array(48000 * 2)]);
    await rt.stopHandler!(makeEnvelope('voice.play.stop', { session_id: 'g1', reason: 'silenced from the console' }, route) as Envelope, []);
    await expect(play('g1', 'reply:seg-1')).rejects.toMatchObject({ code: 'invalid_state', path: 'payload.session_id' });
    expect(worker.mixer.depth).toBe(0);
    await play('g1', 'reply:say:abcdefgh1234');
    await play('g1', 'music', 'background');
    await play('g2', 'reply:seg-2');
    expect(worker.mixer.depth).toBe(3);
    now += 10_000;
    await play('g1', 'reply:seg-3');
    expect(worker.mixer.depth).toBe(4);
    // A stop of the background lane alone holds nothing.
    await rt.stopHandler!(makeEnvelope('voice.play.stop', { session_id: 'g2', lane: 'background' }, route) as Envelope, []);
    await play('g2', 'reply:seg-4');
    expect(worker.mixer.depth).toBe(5);
    worker.stop();
  });

  it('rejects a malformed payload and a missing attachment with typed errors', async () => {
    const rt = new RecordingRuntime();
    const worker = new MixerWorker(rt);
    worker.start();
    const bad = makeEnvelope('voice.play.pcm', { session_id: '', format: { rate_hz: 1, channels: 1, codec: 'pcm_s16le' }, attachment: 0 } as never, { src: 't', provider: 'discord', tenant: 'demo' });
    await expect(rt.handler!(bad as Envelope, [])).rejects.toMatchObject({ code: 'schema' });
    const missing = makeEnvelope('voice.play.pcm', { session_id: 's', format: { rate_hz: 48000, channels: 2, codec: 'pcm_s16le' }, attachment: 1 }, { src: 't', provider: 'discord', tenant: 'demo' });
    await expect(rt.handler!(missing as Envelope, [])).rejects.toBeInstanceOf(PrometheanError);
    const outside = makeEnvelope('voice.play.pcm', { session_id: 's', format: { rate_hz: 48000, channels: 2, codec: 'pcm_s16le' }, data_path: '/etc/passwd' }, { src: 't', provider: 'discord', tenant: 'demo' });
    await expect(rt.handler!(outside as Envelope, [])).rejects.toMatchObject({ code: 'forbidden' });
    expect(rt.published.length).toBe(0);
    worker.stop();
  });
});

describe('mixer manifest', () => {
  it('agent.yml is a tokenless worker manifest with no provider capability', async () => {
    const m = await loadManifest(fileURLToPath(new URL('./agent.yml', import.meta.url)));
    expect(m.id).toBe('mixer');
    expect(m.kind).toBe('worker');
    expect(m.inputs).toEqual(['voice.play.pcm', 'voice.play.stop']);
    expect(m.capabilities.some((c) => c.kind === 'provider')).toBe(false);
  });
});

/** The resampler as first written: sin and cos per tap per output sample (the reference for the filter bank). */
function directResample(input: Float32Array, fromRate: number, toRate: number, halfTaps = 16): Float32Array {
  const ratio = toRate / fromRate;
  const out = new Float32Array(Math.round(input.length * ratio));
  const cutoff = Math.min(1, ratio);
  const width = halfTaps / cutoff;
  for (let j = 0; j < out.length; j++) {
    const x = j / ratio;
    let acc = 0, norm = 0;
    for (let i = Math.max(0, Math.ceil(x - width)); i <= Math.min(input.length - 1, Math.floor(x + width)); i++) {
      const t = i - x;
      const arg = Math.PI * cutoff * t;
      const k = (arg === 0 ? 1 : Math.sin(arg) / arg) * (0.5 + 0.5 * Math.cos((Math.PI * t) / width));
      acc += input[i]! * k;
      norm += k;
    }
    out[j] = norm !== 0 ? acc / norm : 0;
  }
  return out;
}

describe('resampleMono() filter bank', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/resample_poly.json', import.meta.url), 'utf8')) as { cases: { rate: number; input: number[]; output: number[] }[] };

  for (const c of fixture.cases) {
    it(`matches scipy.signal.resample_poly from ${c.rate} Hz to 48 kHz (SNR > 40 dB away from the edges)`, () => {
      const got = resampleMono(Float32Array.from(c.input), c.rate, 48000);
      expect(got.length).toBe(c.output.length);
      expect(snrDb(got, Float32Array.from(c.output), 480)).toBeGreaterThan(40);
    });
  }

  it('equals the direct per-sample windowed sinc, edges included, for exact and capped phase counts', () => {
    for (const [from, to] of [[22050, 48000], [16000, 48000], [48000, 16000], [44056, 48000], [8000.5, 48000]] as const) {
      const input = sine(700, from, 0.05);
      const want = directResample(input, from, to);
      const got = resampleMono(input, from, to);
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      // exact phases: float rounding only; 4096 capped phases (44 056 Hz, a fractional rate): under 1e-3 of full scale
      expect(worst).toBeLessThan(from === 44056 || from === 8000.5 ? 10 : 0.05);
    }
  });
});

describe('Mixer bounds', () => {
  it('forgets a session idle for sessionIdleMs and refuses a new session beyond maxSessions', () => {
    let now = 0;
    const frames: MixerFrame[] = [];
    const mixer = new Mixer((f) => frames.push(f), { maxSessions: 2, sessionIdleMs: 1000, now: () => now });
    const req = (sessionId: string) => ({ provider: 'discord', tenant: 'demo', sessionId, stereo: new Int16Array(1920) });
    expect(mixer.enqueue(req('a'))).toBe('queued'); // one frame: emitted at once, then idle
    expect(mixer.enqueue(req('b'))).toBe('queued');
    expect(mixer.enqueue(req('c'))).toBe('sessions_full');
    now = 999;
    expect(mixer.enqueue(req('c'))).toBe('sessions_full');
    now = 1000;
    expect(mixer.enqueue(req('c'))).toBe('queued');
    expect(mixer.expired).toBe(2);
    expect(mixer.sessionCount).toBe(1);
    mixer.close();
    expect(mixer.enqueue(req('d'))).toBe('closed');
  });

  it('MixerWorker refuses a request over maxBytes with an oversize error before decoding it, and a session beyond the bound as unavailable', async () => {
    const rt = new RecordingRuntime();
    const worker = new MixerWorker(rt, { maxBytes: 4000, mixer: { maxSessions: 1 } });
    worker.start();
    const route = { src: 't', provider: 'discord', tenant: 'demo' };
    const fmt = { rate_hz: 48000, channels: 2, codec: 'pcm_s16le' } as const;
    const big = makeEnvelope('voice.play.pcm', { session_id: 's', format: fmt, attachment: 0 }, route);
    await expect(rt.handler!(big as Envelope, [new Uint8Array(4004)])).rejects.toMatchObject({ code: 'oversize', path: 'payload.attachment' });
    const b64 = makeEnvelope('voice.play.pcm', { session_id: 's', format: fmt, data_b64: Buffer.alloc(6000).toString('base64') }, route);
    await expect(rt.handler!(b64 as Envelope, [])).rejects.toMatchObject({ code: 'oversize', path: 'payload.data_b64' });
    const ok = makeEnvelope('voice.play.pcm', { session_id: 's', format: fmt, attachment: 0 }, route);
    await rt.handler!(ok as Envelope, [new Uint8Array(3840)]);
    const other = makeEnvelope('voice.play.pcm', { session_id: 'other', format: fmt, attachment: 0 }, route);
    await expect(rt.handler!(other as Envelope, [new Uint8Array(3840)])).rejects.toMatchObject({ code: 'unavailable' });
    worker.stop();
  });
});
