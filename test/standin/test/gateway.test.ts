import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStandin } from '../src/standin.ts';
import type { Standin } from '../src/standin.ts';

type Msg = { op: number; t?: string; s?: number; d: Record<string, unknown> };

function next(ws: WebSocket, pred: (m: Msg) => boolean): Promise<Msg> {
  return new Promise((resolve) => {
    const on = (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString()) as Msg;
      if (pred(m)) {
        ws.off('message', on);
        resolve(m);
      }
    };
    ws.on('message', on);
  });
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url}?v=10&encoding=json`);
  await next(ws, (m) => m.op === 10);
  return ws;
}

describe('main gateway', () => {
  let standin: Standin;
  beforeAll(async () => {
    standin = await startStandin({ speakers: [{ name: 'carol', file: new URL('../../fixtures/audio/carol_48k.wav', import.meta.url).pathname }] });
  });
  afterAll(async () => {
    await standin?.close();
  });

  it('Identify → READY then GUILD_CREATE with the voice channel, the speaker as a member and its voice state', async () => {
    const ws = await open(standin.gatewayUrl);
    const guild = next(ws, (m) => m.t === 'GUILD_CREATE');
    ws.send(JSON.stringify({ op: 2, d: { token: 'gw-test', intents: 0, properties: {} } }));
    const g = (await guild).d as { channels: { id: string; type: number }[]; members: { user: { id: string } }[]; voice_states: { user_id: string; channel_id: string }[] };
    const carol = standin.speakers.get('carol');
    expect(g.channels.find((c) => c.id === standin.voiceChannelId)?.type).toBe(2);
    expect(g.members.map((m) => m.user.id)).toContain(carol?.userId);
    expect(g.voice_states).toContainEqual(expect.objectContaining({ user_id: carol?.userId, channel_id: standin.voiceChannelId }));
    ws.terminate();
  });

  it('op 6 Resume on a new socket continues the session (RESUMED, next sequence number); an unknown session gets op 9', async () => {
    const first = await open(standin.gatewayUrl);
    const ready = next(first, (m) => m.t === 'GUILD_CREATE');
    const readyEvent = next(first, (m) => m.t === 'READY');
    first.send(JSON.stringify({ op: 2, d: { token: 'gw-resume', intents: 0, properties: {} } }));
    const sessionId = (await readyEvent).d.session_id as string;
    const lastSeq = (await ready).s as number;
    first.terminate();
    const second = await open(standin.gatewayUrl);
    const resumed = next(second, (m) => m.t === 'RESUMED');
    second.send(JSON.stringify({ op: 6, d: { token: 'gw-resume', session_id: sessionId, seq: lastSeq } }));
    expect((await resumed).s).toBe(lastSeq + 1);
    const third = await open(standin.gatewayUrl);
    const invalid = next(third, (m) => m.op === 9);
    third.send(JSON.stringify({ op: 6, d: { token: 'x', session_id: 'nope', seq: 1 } }));
    expect((await invalid).d).toBe(false);
    second.terminate();
    third.terminate();
  });

  it('op 4 answers VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE, and channel_id null leaves', async () => {
    const ws = await open(standin.gatewayUrl);
    const readyEvent = next(ws, (m) => m.t === 'READY');
    ws.send(JSON.stringify({ op: 2, d: { token: 'gw-voice', intents: 0, properties: {} } }));
    const me = ((await readyEvent).d.user as { id: string }).id;
    const state = next(ws, (m) => m.t === 'VOICE_STATE_UPDATE' && m.d.user_id === me);
    const server = next(ws, (m) => m.t === 'VOICE_SERVER_UPDATE');
    ws.send(JSON.stringify({ op: 4, d: { guild_id: standin.guildId, channel_id: standin.voiceChannelId, self_mute: false, self_deaf: true } }));
    expect((await state).d).toMatchObject({ channel_id: standin.voiceChannelId, self_deaf: true, member: { user: { id: me } } });
    expect((await server).d).toMatchObject({ guild_id: standin.guildId, endpoint: standin.voiceEndpoint });
    const left = next(ws, (m) => m.t === 'VOICE_STATE_UPDATE' && m.d.user_id === me);
    ws.send(JSON.stringify({ op: 4, d: { guild_id: standin.guildId, channel_id: null, self_mute: false, self_deaf: false } }));
    expect((await left).d.channel_id).toBeNull();
    expect(standin.world.usersInVoice()).not.toContain(me);
    ws.terminate();
  });
});
