/**
 * The bridge with DAVE end-to-end encryption negotiated: the stand-in's simulated speakers are real
 * DAVE participants; the bridge removes transport AEAD itself, then DAVE through the library's session.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@promethean/server';
import { startStandin, readWavFile, toStereo48k, type Standin, type PcmAudio, type VoiceServerExtension } from '@promethean/standin';
import { requires } from '../../../test/support/requires.ts';
import { opusAvailable } from '../audio/opus-native.ts';
import { alignedNcc, createDaveExtension } from '@promethean/standin';
import { BusCollector, joinUntilConnected, spawnBridge, startHub, type BridgeProcess } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/audio/', import.meta.url));

function mono48k(audio: PcmAudio): Float32Array {
  const [l, r] = toStereo48k(audio);
  const out = new Float32Array(l.length);
  for (let i = 0; i < l.length; i++) out[i] = (l[i]! + r[i]!) / 2;
  return out;
}

const ALICE = readWavFile(join(FIXTURES, 'alice_22k.wav'));
const CAROL = readWavFile(join(FIXTURES, 'carol_48k.wav'));

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('bridge with DAVE against the stand-in', () => {
  let standin: Standin;
  let hub: Hub;
  let bridge: BridgeProcess;
  let bus: BusCollector;
  let dave: ReturnType<typeof createDaveExtension>;

  beforeAll(async () => {
    dave = createDaveExtension();
    standin = await startStandin({ speakers: [{ name: 'alice', audio: ALICE }, { name: 'carol', audio: CAROL }], extensions: [dave] });
    hub = await startHub();
    bus = new BusCollector(hub);
    await bus.start();
    bridge = spawnBridge(hub, standin);
    await joinUntilConnected(bus, bridge, standin, 'dave-1', (s) => s.status === 'connected' && (s.encryption?.dave_protocol_version ?? 0) > 0);
  }, 60_000);

  afterAll(async () => {
    await bridge?.stop();
    bus?.close();
    await hub?.close();
    await standin?.close();
  });

  it('publishes each DAVE-encrypted speaker’s PCM matching its source (NCC ≥ 0.95)', { retry: 1, timeout: 60_000 }, async () => {
    // Wait for the MLS group to hold the bot and both speakers and for its transition to finish.
    const group = dave.server.group(standin.voiceChannelId);
    const t0 = performance.now();
    while (!(group.status === 'stable' && group.groupMembers.length >= 3)) {
      if (performance.now() - t0 > 20_000) throw new Error(`DAVE group not formed: status ${group.status}, members ${group.groupMembers.join(',')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const from = bus.pcm.length;
    await Promise.all(standin.speakers.list().map((s) => standin.speakers.play(s.name)));
    await new Promise((r) => setTimeout(r, 1200));
    const byName = Object.fromEntries(standin.speakers.list().map((s) => [s.name, s.userId]));
    for (const [name, src] of [['alice', ALICE], ['carol', CAROL]] as const) {
      const { ncc } = alignedNcc(bus.timeline(byName[name]!, false, from), mono48k(src), -480, 4800);
      console.log(`DAVE ${name}: NCC ${ncc.toFixed(4)}`);
      expect(ncc).toBeGreaterThanOrEqual(0.95);
    }
    const h = bus.health.at(-1)!;
    console.log(`DAVE health: decrypt_errors ${h.decrypt_errors}, faults ${JSON.stringify(h.faults)}`);
  });
});
