import { describe, expect, it } from 'vitest';
import { InvalidStateError, SsrcInUseError, SfuTimeoutError } from '../errors.ts';
import { Channel } from './channel.ts';
import type { ToChild } from './protocol.ts';

function channel(requestTimeoutMs = 5_000): { channel: Channel; sent: ToChild[] } {
  const sent: ToChild[] = [];
  return { channel: new Channel((m) => sent.push(m), { requestTimeoutMs }), sent };
}

describe('Channel', () => {
  it('request() resolves with the response of the same id, whatever the order of responses', async () => {
    const { channel: c, sent } = channel();
    const a = c.request('router.create', { routerId: 'a' });
    const b = c.request('sfu.stats', {});
    expect(sent.map((m) => m.method)).toEqual(['router.create', 'sfu.stats']);
    c.receive({ kind: 'response', id: sent[1]!.id, ok: true, result: { packets: 1 } });
    c.receive({ kind: 'response', id: sent[0]!.id, ok: true, result: null });
    await expect(b).resolves.toEqual({ packets: 1 });
    await expect(a).resolves.toBeNull();
    expect(c.pendingCount).toBe(0);
  });

  it('request() rejects with the typed error the other side sent', async () => {
    const { channel: c, sent } = channel();
    const p = c.request('producer.create', { routerId: 'r', producerId: 'p', userId: 'u', ssrc: 1, payloadType: null });
    c.receive({ kind: 'response', id: sent[0]!.id, ok: false, error: { name: 'SsrcInUseError', code: 'invalid_state', message: 'taken' } });
    await expect(p).rejects.toBeInstanceOf(SsrcInUseError);
  });

  it('close() rejects every pending request and every later one with its error', async () => {
    const { channel: c } = channel();
    const pending = [c.request('sfu.stats', {}), c.request('router.create', { routerId: 'a' })];
    const error = new InvalidStateError('closed');
    c.close(error);
    c.close(new Error('second close ignored'));
    for (const p of pending) await expect(p).rejects.toBe(error);
    await expect(c.request('sfu.stats', {})).rejects.toBe(error);
    expect(c.pendingCount).toBe(0);
  });

  it('request() rejects with SfuTimeoutError when no response comes in time', async () => {
    const { channel: c } = channel(20);
    await expect(c.request('sfu.stats', {})).rejects.toBeInstanceOf(SfuTimeoutError);
    expect(c.pendingCount).toBe(0);
  });

  it('delivers a notification after the continuation of a response that arrived before it', async () => {
    const { channel: c, sent } = channel();
    const order: string[] = [];
    c.onNotification = (event) => order.push(`notification ${event}`);
    const created = c.request('listener.create', { routerId: 'r', listenerId: 'l' }).then(() => order.push('created'));
    c.receive({ kind: 'response', id: sent[0]!.id, ok: true, result: null });
    c.receive({ kind: 'notification', event: 'listener.connectionstatechange', data: { listenerId: 'l', state: 'connecting' } });
    expect(order).toEqual([]);
    await created;
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['created', 'notification listener.connectionstatechange']);
  });

  it('a throwing notification handler is reported and does not stop later notifications', async () => {
    const { channel: c } = channel();
    const errors: unknown[] = [];
    const seen: string[] = [];
    c.onError = (e) => errors.push(e);
    c.onNotification = (_event, data) => {
      const { state } = data as { state: string };
      seen.push(state);
      if (state === 'connecting') throw new Error('handler bug');
    };
    c.receive({ kind: 'notification', event: 'listener.connectionstatechange', data: { listenerId: 'l', state: 'connecting' } });
    c.receive({ kind: 'notification', event: 'listener.connectionstatechange', data: { listenerId: 'l', state: 'connected' } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['connecting', 'connected']);
    expect(errors).toHaveLength(1);
  });
});
