/**
 * The bridge with DAVE end-to-end encryption negotiated: the stand-in's simulated speakers are real
 * DAVE participants; the bridge removes transport AEAD itself, then DAVE through the library's session
 * (for packets held until their op 5, on release). No fixed sleeps: every wait is for a condition.
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

  it('publishes each DAVE-encrypted speaker’s PCM from its first sent packet, matching its source (NCC ≥ 0.95)', async () => {
    // Wait for the MLS group to hold the bot and both speakers and for its transition to finish.
    const group = dave.server.group(standin.voiceChannelId);
    await bus.waitFor(() => group.status === 'stable' && group.groupMembers.length >= 3, 20_000, `the DAVE group (status ${group.status}, members ${group.groupMembers.join(',')})`);
    const before = bus.health.at(-1);
    const from = bus.pcm.length;
    const speakers = standin.speakers.list();
    await Promise.all(speakers.map((s) => standin.speakers.play(s.name)));
    // until each speaker's last audio frame came out (its silence frames follow the audio in the log)
    const lastAudio = speakers.map((s) => ({ userId: s.userId, timestamp: standin.sendLog.entries({ ssrc: s.ssrc }).findLast((e) => !e.silence)?.timestamp }));
    await bus.settle(() => lastAudio.every((t) => bus.published(t.userId, t.timestamp)), 10_000);
    const h = await bus.nextHealth();
    for (const s of speakers) {
      const src = s.name === 'alice' ? ALICE : CAROL;
      const mine = bus.pcm.slice(from).filter((f) => f.userId === s.userId);
      // the first packet went through DAVE too, even when it arrived before the speaker's op 5
      expect(mine[0]?.seq, `${s.name}'s first published seq`).toBe(standin.sendLog.entries({ ssrc: s.ssrc })[0]!.sequence);
      const { ncc } = alignedNcc(bus.timeline(s.userId, false, from), mono48k(src), -480, 4800);
      console.log(`DAVE ${s.name}: NCC ${ncc.toFixed(4)}`);
      expect(ncc).toBeGreaterThanOrEqual(0.95);
    }
    console.log(`DAVE health: decrypt_errors ${h.decrypt_errors}, held ${(h.held ?? 0) - (before?.held ?? 0)}, unmapped ${h.unmapped}, faults ${JSON.stringify(h.faults)}`);
    expect(h.unmapped).toBe(0);
  }, 60_000);
});
