import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';
import { startStandin } from '../src/standin.ts';
import type { Standin } from '../src/standin.ts';
import { StandinConfigError } from '../src/util/errors.ts';

function voiceSocket(standin: Standin): Promise<WebSocket> {
  const ws = new WebSocket(`wss://${standin.voiceEndpoint}?v=8`, { ca: readFileSync(standin.certPath) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));

describe('bad input gets a typed answer and a counter, never a crash', () => {
  let standin: Standin;
  beforeAll(async () => {
    standin = await startStandin({});
  });
  afterAll(async () => {
    await standin?.close();
  });

  it('voice ws: non-JSON closes 4002 and counts malformedWs', async () => {
    const ws = await voiceSocket(standin);
    const before = standin.voice.counters.malformedWs;
    ws.send('{not json');
    expect(await closeCode(ws)).toBe(4002);
    expect(standin.voice.counters.malformedWs).toBe(before + 1);
  });

  it('voice ws: an op before Identify closes 4003; a wrong token closes 4004', async () => {
    const a = await voiceSocket(standin);
    a.send(JSON.stringify({ op: 1, d: {} }));
    expect(await closeCode(a)).toBe(4003);
    const b = await voiceSocket(standin);
    b.send(JSON.stringify({ op: 0, d: { server_id: standin.guildId, user_id: '1', session_id: 'x', token: 'nope' } }));
    expect(await closeCode(b)).toBe(4004);
  });

  it('voice ws: op 7 Resume for an unknown session closes 4006', async () => {
    const ws = await voiceSocket(standin);
    ws.send(JSON.stringify({ op: 7, d: { server_id: standin.guildId, session_id: 'nope', token: 'nope', seq_ack: 3 } }));
    expect(await closeCode(ws)).toBe(4006);
  });

  it('main gateway: non-JSON closes 4002, unknown op closes 4001', async () => {
    const a = new WebSocket(standin.gatewayUrl);
    await new Promise((r) => a.once('open', r));
    a.send('garbage');
    expect(await closeCode(a)).toBe(4002);
    const b = new WebSocket(standin.gatewayUrl);
    await new Promise((r) => b.once('open', r));
    b.send(JSON.stringify({ op: 99, d: null }));
    expect(await closeCode(b)).toBe(4001);
    expect(standin.gateway.gateway.counters).toMatchObject({ malformed: 1, unknownOps: 1 });
  });

  it('REST: /gateway/bot needs a token (401), unknown routes are 404 in Discord\'s shape', async () => {
    const anon = await fetch(`${standin.restApi}/v10/gateway/bot`);
    expect(anon.status).toBe(401);
    const ok = await fetch(`${standin.restApi}/v10/gateway/bot`, { headers: { authorization: 'Bot abc' } });
    expect(await ok.json()).toMatchObject({ url: standin.gatewayUrl, shards: 1, session_start_limit: { max_concurrency: 1 } });
    const missing = await fetch(`${standin.restApi}/v10/nothing/here`, { headers: { authorization: 'Bot abc' } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: '404: Not Found', code: 0 });
  });

  it('UDP: datagrams that are not discovery, keep-alive or RTP are counted', async () => {
    const { createSocket } = await import('node:dgram');
    const s = createSocket('udp4');
    const before = standin.voice.udp.counters.malformedIn;
    await new Promise<void>((resolve) => s.send(Buffer.from('hello, not rtp at all'), standin.udpPort, '127.0.0.1', () => resolve()));
    await new Promise((r) => setTimeout(r, 100));
    s.close();
    expect(standin.voice.udp.counters.malformedIn).toBe(before + 1);
  });

  it('startStandin() rejects bad options with StandinConfigError naming the field', async () => {
    await expect(startStandin({ impairment: { loss: 3, jitterMs: 0, reorder: 0, driftPpm: 0 } })).rejects.toThrow(StandinConfigError);
    await expect(startStandin({ speakers: [{ name: 'x', file: '/nonexistent.wav' }] })).rejects.toThrow(/cannot read/);
  });
});
