/**
 * `voice.relay.anchor` end to end: the real bridge process (discord.js + @discordjs/voice) against the
 * stand-in, a real hub, and a UDP socket in the SFU ingest's place. Every relayed packet, mapped
 * through the anchors announced before it, must land on the `ts_monotonic_ns` of the PCM frame the
 * bridge published for the same Discord packet (matched by its Opus bytes), across two talk-spurts
 * with a pause between them (the relay re-bases its timestamps there).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@promethean/server';
import { BusClient, type PayloadOf } from '@promethean/shared';
import { readWavFile, startStandin, type Standin } from '@promethean/standin';
import { requires } from '../../../test/support/requires.ts';
import { opusAvailable } from '../audio/opus-native.ts';
import { BusCollector, joinUntilConnected, RelayCapture, spawnBridge, startHub, type BridgeProcess } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/audio/', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('voice.relay.anchor from the bridge', () => {
  let standin: Standin;
  let hub: Hub;
  let bridge: BridgeProcess;
  let bus: BusCollector;
  let relay: RelayCapture;
  let anchorsClient: BusClient;
  const anchors: PayloadOf<'voice.relay.anchor'>[] = [];
  /** Discord RTP timestamp of every audio frame the speaker produced, by its Opus bytes (unique ones only). */
  const produced = new Map<string, number | null>();
  let audioFrames = 0;
  let lastProducedTs = 0;

  beforeAll(async () => {
    standin = await startStandin({ speakers: [{ name: 'alice', audio: readWavFile(join(FIXTURES, 'alice_22k.wav')) }], resumeWindowMs: 10_000 });
    standin.speakers.on('frame', (f) => {
      if (f.silence) return;
      audioFrames++;
      lastProducedTs = f.timestamp;
      const key = hex(f.opus);
      produced.set(key, produced.has(key) ? null : f.timestamp);
    });
    hub = await startHub();
    bus = new BusCollector(hub);
    await bus.start();
    anchorsClient = new BusClient({ url: hub.url, token: hub.agentKey });
    await anchorsClient.connect();
    await anchorsClient.subscribe('promethean.p.discord.t.*.voice.relay.anchor', (env) => void anchors.push(env.payload as PayloadOf<'voice.relay.anchor'>)).ready;
    relay = await RelayCapture.open();
    bridge = spawnBridge(hub, standin, { PROMETHEAN_SFU_INGEST: relay.address });
    await joinUntilConnected(bus, bridge, standin, 'anchor-1');
  }, 60_000);

  afterAll(async () => {
    await bridge?.stop();
    relay?.close();
    anchorsClient?.close();
    bus?.close();
    await hub?.close();
    await standin?.close();
  });

  it('maps every relayed packet through the anchors before it onto its PCM frame’s ts_monotonic_ns (±1 ms), across a pause', async () => {
    const [alice] = standin.speakers.list();
    // Two passes with a 500 ms pause between them (the relay re-bases its timestamps after 100 ms without packets).
    await standin.speakers.play(alice!.name, { loop: true, pauseMs: 500 });
    const perPass = audioFrames;
    const firstPassEnd = lastProducedTs;
    await bus.waitFor(() => audioFrames >= 2 * perPass, 15_000, 'the second pass produced');
    standin.speakers.stop(alice!.name);
    const ssrc = bus.relaySsrc(alice!.userId)!;
    expect(ssrc, 'the relay stream').toBeDefined();
    const lastTs = [...produced.values()].filter((t): t is number => t !== null).at(-1)!;
    await bus.waitFor(() => bus.published(alice!.userId, lastTs), 15_000, 'the second pass on the bus');

    const pcmNs = new Map<number, bigint>();
    for (const f of bus.pcm) if (f.userId === alice!.userId && !f.concealed) pcmNs.set(f.timestamp, f.ts);
    const mine = anchors.filter((a) => a.ssrc === ssrc);
    expect(mine[0]?.reason).toBe('start');
    let checked = 0;
    let checkedAfterPause = 0;
    const misses: string[] = [];
    for (const p of relay.of(ssrc)) {
      const discordTs = produced.get(hex(p.payload));
      if (discordTs === undefined || discordTs === null) continue;
      const ns = pcmNs.get(discordTs);
      if (ns === undefined) continue;
      // the newest anchor at or before this packet's timestamp (the relay's timestamps only go forward)
      const a = mine.findLast((x) => ((p.timestamp - x.rtp_timestamp) | 0) >= 0);
      expect(a, `an anchor at or before relayed timestamp ${p.timestamp}`).toBeDefined();
      const mapped = BigInt(a!.ts_monotonic_ns) + (BigInt((p.timestamp - a!.rtp_timestamp) | 0) * 1_000_000_000n) / 48_000n;
      const off = mapped > ns ? mapped - ns : ns - mapped;
      if (off > 1_000_000n) misses.push(`rtp ${p.timestamp}: ${Number(mapped - ns) / 1e6} ms`);
      checked++;
      if (((discordTs - firstPassEnd) | 0) > 0) checkedAfterPause++;
    }
    expect(misses, `packets mapped off by more than 1 ms (anchors ${JSON.stringify(mine)})`).toEqual([]);
    // nearly every audio packet with unique Opus bytes was relayed, published and checked, in both passes
    const unique = [...produced.values()].filter((t) => t !== null).length;
    expect(checked, `packets checked of ${unique} produced with unique bytes (${audioFrames} in all)`).toBeGreaterThan(0.9 * unique);
    expect(checkedAfterPause, 'packets checked after the pause').toBeGreaterThan(0.4 * perPass);
    // bounded: a start, a few periodic refreshes, a discontinuity or so per talk-spurt
    expect(mine.length).toBeLessThan(checked / 10);
  });
});
