import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPUS_SILENCE_FRAME, VoiceOp } from '@promethean/shared/providers/discord';
import { startStandin } from '../src/standin.ts';
import type { Standin } from '../src/standin.ts';
import type { VoiceServerExtension } from '../src/voice/extension.ts';
import { RawVoiceClient } from '../src/testing/raw-client.ts';

const CAROL = fileURLToPath(new URL('../../fixtures/audio/carol_48k.wav', import.meta.url));
const BOB = fileURLToPath(new URL('../../fixtures/audio/bob_16k_stereo.wav', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MARK = Uint8Array.of(0xfa, 0xfa);

/** A test extension that records every hook call and marks frames, standing in for DAVE's hooks. */
function recordingExtension() {
  const calls: { hook: string; args: unknown[] }[] = [];
  const ext: VoiceServerExtension = {
    name: 'recording',
    attach: (view) => void calls.push({ hook: 'attach', args: [view.channelId] }),
    onIdentify: (c, d) => void calls.push({ hook: 'onIdentify', args: [c.userId, d.max_dave_protocol_version] }),
    sessionDescription: () => ({ dave_protocol_version: 1 }),
    onClientReady: (c) => {
      calls.push({ hook: 'onClientReady', args: [c.userId] });
      c.sendBinary(25, Uint8Array.of(1, 2, 3));
    },
    onJson: (c, op, d) => {
      calls.push({ hook: 'onJson', args: [op, d] });
      return op === 23;
    },
    onBinary: (c, op, payload) => void calls.push({ hook: 'onBinary', args: [op, [...payload]] }),
    onMemberJoin: (id) => void calls.push({ hook: 'onMemberJoin', args: [id] }),
    onMemberLeave: (id) => void calls.push({ hook: 'onMemberLeave', args: [id] }),
    onClientGone: (c) => void calls.push({ hook: 'onClientGone', args: [c.userId] }),
    transformSpeakerFrame: (_s, frame) => {
      const out = new Uint8Array(frame.byteLength + 2);
      out.set(frame);
      out.set(MARK, frame.byteLength);
      return out;
    },
    transformClientFrame: (_c, frame) => {
      if (frame[frame.byteLength - 1] !== 0xfa) throw new Error('not marked');
      return frame.subarray(0, frame.byteLength - 2);
    },
  };
  return { ext, calls };
}

describe('VoiceServerExtension hooks (the DAVE plug-in surface)', () => {
  let standin: Standin;
  let client: RawVoiceClient;
  const { ext, calls } = recordingExtension();
  beforeAll(async () => {
    standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], timeScale: 0.25, extensions: [ext] });
    client = await RawVoiceClient.connect({ gatewayUrl: standin.gatewayUrl, certPath: standin.certPath, guildId: standin.guildId, channelId: standin.voiceChannelId });
    await sleep(200);
  });
  afterAll(async () => {
    await client?.close();
    await standin?.close();
  });

  it('attach, onIdentify (with max_dave_protocol_version), onMemberJoin and onClientReady run in order', () => {
    const hooks = calls.map((c) => c.hook);
    expect(hooks.slice(0, 2)).toEqual(['attach', 'onMemberJoin']);
    expect(hooks.indexOf('onIdentify')).toBeLessThan(hooks.indexOf('onClientReady'));
    expect(calls.find((c) => c.hook === 'onIdentify')?.args).toEqual([client.userId, 0]);
    expect(calls.find((c) => c.hook === 'attach')?.args).toEqual([standin.voiceChannelId]);
  });

  it('sessionDescription() fields are merged into op 4, and sendBinary() frames carry the next seq', () => {
    const desc = client.messages.find((m) => m.op === VoiceOp.SessionDescription);
    expect((desc?.d as { dave_protocol_version: number }).dave_protocol_version).toBe(1);
    const bin = client.binary[0] as Buffer;
    expect(bin[2]).toBe(25);
    expect([...bin.subarray(3)]).toEqual([1, 2, 3]);
    const jsonBefore = client.messages.filter((m) => typeof m.seq === 'number' && (m.seq as number) < bin.readUInt16BE(0));
    expect(jsonBefore.length).toBe(bin.readUInt16BE(0) - 1);
  });

  it('client JSON ops go to onJson and binary messages to onBinary', async () => {
    client.sendJson(23, { transition_id: 5 });
    client.sendBinary(26, Uint8Array.of(9, 8, 7));
    await sleep(200);
    expect(calls.filter((c) => c.hook === 'onJson').map((c) => c.args)).toEqual([[23, { transition_id: 5 }]]);
    expect(calls.filter((c) => c.hook === 'onBinary').map((c) => c.args)).toEqual([[26, [9, 8, 7]]]);
  });

  it('transformSpeakerFrame() output is what clients decrypt; transformClientFrame() runs after transport decryption', async () => {
    const carol = standin.speakers.get('carol');
    await standin.speakers.play('carol');
    await sleep(200);
    const mine = client.packets.filter((p) => p.header.ssrc === carol?.ssrc);
    expect(mine.length).toBeGreaterThan(100);
    expect(mine.every((p) => Buffer.from(p.payload as Uint8Array).subarray(-2).equals(Buffer.from(MARK)))).toBe(true);
    const frames: Uint8Array[] = [];
    standin.voice.on('clientFrame', (f) => frames.push(f.frame));
    const before = standin.voice.counters.transformFailures;
    client.sendOpus(Uint8Array.of(...OPUS_SILENCE_FRAME, ...MARK));
    client.sendOpus(OPUS_SILENCE_FRAME);
    await sleep(200);
    expect(frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(['f8fffe']);
    expect(standin.voice.counters.transformFailures).toBe(before + 1);
  });

  it('speakers joining and leaving reach clients as op 11 / op 13 and the extension as onMemberJoin / onMemberLeave', async () => {
    const bob = standin.speakers.join({ name: 'bob', file: BOB });
    await sleep(200);
    expect(client.messages.some((m) => m.op === VoiceOp.ClientsConnect && (m.d as { user_ids: string[] }).user_ids.includes(bob.userId))).toBe(true);
    standin.speakers.leave('bob');
    await sleep(200);
    expect(client.messages.some((m) => m.op === VoiceOp.ClientDisconnect && (m.d as { user_id: string }).user_id === bob.userId)).toBe(true);
    expect(calls.filter((c) => c.args[0] === bob.userId).map((c) => c.hook)).toEqual(['onMemberJoin', 'onMemberLeave']);
  });

  it('a hook that throws is counted and does not break the server', async () => {
    const bad: VoiceServerExtension = { name: 'bad', onIdentify: () => { throw new Error('boom'); } };
    const s2 = await startStandin({ extensions: [bad] });
    try {
      const c2 = await RawVoiceClient.connect({ gatewayUrl: s2.gatewayUrl, certPath: s2.certPath, guildId: s2.guildId, channelId: s2.voiceChannelId });
      expect(c2.key).toHaveLength(32);
      expect(s2.voice.counters.extensionErrors).toBe(1);
      await c2.close();
    } finally {
      await s2.close();
    }
  });

  it('onClientGone runs when a client session ends for good', async () => {
    standin.faults.closeVoice(4014, client.userId);
    await client.closed();
    await sleep(50);
    expect(calls.filter((c) => c.hook === 'onClientGone').map((c) => c.args)).toEqual([[client.userId]]);
  });
});
