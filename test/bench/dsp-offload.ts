/**
 * `promethean bench dsp-offload`: how long a DSP lease handover takes, over the real hub, with the
 * real VAD worker and a console tab played by FakeBrowserRunner (server/src/dsp/offload.test-helpers.ts:
 * a session-token bus client running the shared detector). Wall ms from the scheduler moving the
 * lease (its `lease` event, in this process) until the new holder runs the stream:
 *
 * - server → browser: a tab advertises; until the tab has its lease and the worker reported the stream paused;
 * - browser → server (leave): the tab sends `dsp.leave`; until the worker reported the stream running again;
 * - browser → server (crash): the tab's connection drops; from the drop until the worker runs it
 *   (the lease expiry, 6 s by default, dominates; `--quick` runs one round of it);
 * - first segment after a handover: the new holder's first segment delivered, after one phrase of
 *   speech fed at once (faster than real time) right after the move: the phrase's processing plus
 *   the hang-over, as the consumer sees it.
 */
import { resample } from '@promethean/shared';
import { buildLabelledSpeech } from '../../server/src/dsp/labelled-speech.test-helpers.ts';
import { startOffloadRig, until, type OffloadRig } from '../../server/src/dsp/offload.test-helpers.ts';
import type { LeaseMove } from '../../server/src/dsp/offload.ts';
import type { BenchRow, BenchSuite } from './types.ts';

const SR = 48000;

function stats(suite: string, name: string, values: number[]): BenchRow {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { suite, name: `${name} (n=${s.length})`, unit: 'ms', value: at(50), p50: at(50), p95: at(95), p99: at(99) };
}

/** Resolves with the next lease move the scheduler makes for which `ok` holds. */
function nextMove(rig: OffloadRig, ok: (m: LeaseMove) => boolean): Promise<LeaseMove> {
  return new Promise((resolve) => {
    const on = (m: LeaseMove) => {
      if (!ok(m)) return;
      rig.offload.off('lease', on);
      resolve(m);
    };
    rig.offload.on('lease', on);
  });
}

const suite: BenchSuite = {
  name: 'dsp-offload',
  description: 'DSP lease handover time (server ↔ console tab) over the hub with the real VAD worker',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 10;
    const crashRounds = ctx.quick ? 1 : 3;
    const rig = await startOffloadRig();
    try {
      const labelled = buildLabelledSpeech(10);
      const s16 = Int16Array.from(resample(labelled.signal, 16000, SR), (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
      // One phrase with its hang-over, and a stretch of noise (the lead-in) to open the stream.
      const phrase = labelled.speech[0]!;
      const from = Math.round(Math.max(0, phrase.start - 0.2) * SR);
      const to = Math.round((phrase.end + 0.8) * SR);
      const noise = Math.round(0.5 * SR);
      await rig.feed(s16, 0, noise);
      await until('the stream to be placed', () => rig.offload.holder('discord', 'demo', 'vs-offload', '1300000000000000003') === 'server');
      const running = () => rig.vad.runtime.counters.streams_resumed ?? 0;
      const paused = () => rig.vad.runtime.counters.streams_offloaded ?? 0;
      const toBrowser: number[] = [];
      const toServer: number[] = [];
      const firstSegBrowser: number[] = [];
      const firstSegServer: number[] = [];
      for (let k = 0; k < rounds; k++) {
        ctx.log(`dsp-offload: round ${k + 1}/${rounds}`);
        const runner = await rig.runner();
        const pausedBefore = paused();
        const moved = nextMove(rig, (m) => m.to === runner.holderId);
        runner.advertise();
        const m1 = await moved;
        await until('the browser to run the stream', () => runner.leases.size === 1 && paused() > pausedBefore);
        toBrowser.push(performance.now() - m1.at);
        let delivered = rig.delivered.length;
        await rig.feed(s16, from, to);
        await until("the browser's first segment", () => rig.delivered.slice(delivered).some((d) => d.src === runner.src && d.payload.open !== true));
        firstSegBrowser.push(rig.delivered.slice(delivered).find((d) => d.src === runner.src && d.payload.open !== true)!.at - m1.at);
        const runningBefore = running();
        const back = nextMove(rig, (m) => m.from === runner.holderId && m.to === 'server');
        runner.leave();
        const m2 = await back;
        await until('the worker to run the stream again', () => running() > runningBefore);
        toServer.push(performance.now() - m2.at);
        delivered = rig.delivered.length;
        await rig.feed(s16, from, to);
        await until("the server's first segment", () => rig.delivered.slice(delivered).some((d) => d.src === 'vad' && d.payload.open !== true));
        firstSegServer.push(rig.delivered.slice(delivered).find((d) => d.src === 'vad' && d.payload.open !== true)!.at - m2.at);
        runner.close();
      }
      const crash: number[] = [];
      for (let k = 0; k < crashRounds; k++) {
        ctx.log(`dsp-offload: crash round ${k + 1}/${crashRounds} (waits for the lease to expire)`);
        // Some audio first: a stream with no PCM for 30 s is closed by the worker (and its lease ends).
        await rig.feed(s16, 0, noise);
        const runner = await rig.runner();
        const pausedBefore = paused();
        runner.advertise();
        await until('the browser to run the stream', () => runner.leases.size === 1 && paused() > pausedBefore);
        const runningBefore = running();
        const t0 = performance.now();
        runner.close();
        await until('the worker to take the stream back', () => running() > runningBefore, 60_000).catch((error: unknown) => {
          ctx.log(`dsp-offload: ${JSON.stringify({ offload: rig.offload.counters, worker: rig.vad.runtime.counters, leases: rig.leases.slice(-3) })}`);
          throw error;
        });
        crash.push(performance.now() - t0);
      }
      return [
        stats('dsp-offload', 'handover server → browser: lease moved → tab holds, worker paused', toBrowser),
        stats('dsp-offload', 'handover browser → server (dsp.leave): lease moved → worker runs', toServer),
        stats('dsp-offload', `handover browser → server (tab dropped): drop → worker runs (lease ${rig.offload.options.leaseMs} ms)`, crash),
        stats('dsp-offload', 'lease moved → first segment from the tab (one phrase fed at once)', firstSegBrowser),
        stats('dsp-offload', 'lease moved → first segment from the server (one phrase fed at once)', firstSegServer),
      ];
    } finally {
      await rig.close();
    }
  },
};

export default suite;
