/**
 * Packets are forwarded untouched: a Node WebRTC peer consumes each speaker through the running
 * product (stand-in → real bridge → RTP forwarder → SFU → consumer), and the Opus payloads it gets
 * are, byte for byte, a contiguous run of what the stand-in's speaker sent (its send log), for each
 * SFU driver.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediasoupReceiver } from '../../server/src/sfu/mediasoup/mediasoup-receiver.ts';
import { mediasoupAvailable } from '../../server/src/sfu/mediasoup/worker-bin.ts';
import type { SfuOffer } from '../../server/src/sfu/index.ts';
import type { SfuTestReceiver } from '../../server/src/sfu/testing.ts';
import { until } from '../../server/src/sfu/testing.ts';
import { createWeriftReceiver } from '../../server/src/sfu/werift/werift-receiver.ts';
import { requires } from '../support/requires.ts';
import { PROJECT_ROOT, startStack, writeTone, type Stack } from './stack.ts';

const DRIVERS = [
  { driver: 'werift', available: true, receiver: createWeriftReceiver as () => Promise<SfuTestReceiver> },
  { driver: 'mediasoup', available: requires('the mediasoup worker', mediasoupAvailable(), 'bash scripts/build-mediasoup-worker.sh'), receiver: createMediasoupReceiver as () => Promise<SfuTestReceiver> },
] as const;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.each(DRIVERS)('relay through the $driver SFU', ({ driver, available, receiver: makeReceiver }) => {
  if (!available) {
    it.skip('needs the driver', () => undefined);
    return;
  }
  let stack: Stack;
  let receiver: SfuTestReceiver;
  let key: string;
  let http: string;

  beforeAll(async () => {
    const dir = join(PROJECT_ROOT, 'test-results', 'tones');
    await mkdir(dir, { recursive: true });
    stack = await startStack({ speakers: { alice: await writeTone(join(dir, 'alice-440.wav'), 440), bob: await writeTone(join(dir, 'bob-1250.wav'), 1250) }, startArgs: ['--sfu', driver, '--no-speech'] });
    const runtime = JSON.parse(await readFile(join(stack.dataDir, 'runtime.json'), 'utf8')) as { hub_url: string; key_file: string };
    key = (await readFile(runtime.key_file, 'utf8')).trim();
    http = runtime.hub_url.replace(/^ws/, 'http').replace(/\/bus$/, '');
    receiver = await makeReceiver();
  }, 240_000);

  afterAll(async () => {
    await receiver?.close();
    await stack?.close();
  });

  it('each speaker\'s Opus arrives on its own track, byte for byte as the stand-in sent it', async () => {
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const users = stack.standin.speakers.list().map((s) => s.userId);
    // Wait until both speakers are relayed (producers exist), then listen to all of them.
    type Offer = Record<string, unknown> & { listener_id: string; tracks: { mid: string; user_id: string }[] };
    let offer: Offer | undefined;
    await until(async () => {
      const res = await fetch(`${http}/api/sfu/listen`, { method: 'POST', headers: auth, body: JSON.stringify({ session_id: stack.sessionId, user_ids: [] }) });
      if (res.status !== 200) return false;
      const body = (await res.json()) as Offer;
      if (body.tracks.length < users.length) {
        await fetch(`${http}/api/sfu/listeners/${body.listener_id}`, { method: 'DELETE', headers: auth });
        return false;
      }
      offer = body;
      return true;
    }, 'every speaker relayed', 60_000);
    const o = offer!;
    const answer = await receiver.accept({ ...o, tracks: o.tracks.map((t) => ({ mid: t.mid, producerId: '', userId: t.user_id })) } as unknown as SfuOffer);
    const res = await fetch(`${http}/api/sfu/listeners/${o.listener_id}/answer`, { method: 'POST', headers: auth, body: JSON.stringify(answer.kind === 'sdp' ? { sdp: answer.sdp } : answer) });
    expect(res.status).toBe(204);
    await until(() => o.tracks.every((t) => receiver.received(t.mid).length >= 100), '100 packets on every track', 60_000);

    for (const t of o.tracks) {
      // The last 80 packets as they arrived must be a contiguous run of what the speaker sent, in the
      // order it sent them (a periodic tone repeats frames, so the whole run is matched, not one frame).
      const got = receiver.received(t.mid).slice(-80).map((p) => hex(p.payload));
      const sent = stack.standin.sendLog
        .entries({ userId: t.user_id })
        .filter((e) => !e.dropped)
        .map((e) => hex(e.opus));
      expect(got.some((g) => g !== 'f8fffe'), 'speech on the track').toBe(true);
      expect(`,${sent.join(',')},`.includes(`,${got.join(',')},`), `the 80 payloads of ${t.user_id} are a run of its send log`).toBe(true);
      // And nothing of the other speaker on this track.
      const other = new Set(stack.standin.sendLog.entries().filter((e) => e.userId !== t.user_id && !e.silence).map((e) => hex(e.opus)));
      expect(got.filter((g) => other.has(g))).toEqual([]);
    }
  }, 180_000);
});
