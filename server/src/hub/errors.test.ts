import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, makeEnvelope, parseEnvelope } from '@promethean/shared';
import { RecordingClient, startTempHub, type TempHub } from './testing.ts';

let hub: TempHub | undefined;
let c: RecordingClient | undefined;
afterEach(async () => {
  c?.close();
  await hub?.dispose();
  hub = undefined;
});

const good = () => makeEnvelope('note', { n: 1 }, { src: 'test', provider: 'discord', tenant: 'demo' });

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

const cases: [string, string, () => string | Uint8Array | { text: Uint8Array }][] = [
  ['malformed_json', 'truncated JSON text', () => JSON.stringify(good()).slice(0, -1)],
  ['malformed_json', 'invalid UTF-8 in a text frame', () => ({ text: new Uint8Array([0x7b, 0xff, 0x7d]) })],
  ['malformed_json', 'a binary frame whose header is not JSON', () => new Uint8Array([...u32(3), 0x7b, 0x7b, 0x7d])],
  ['bad_frame', 'a binary frame shorter than 4 bytes', () => new Uint8Array([0, 0, 1])],
  ['bad_frame', 'a header length past the end', () => new Uint8Array([...u32(1000), 0x7b, 0x7d])],
  ['bad_frame', 'an attachment longer than the frame', () => {
    const f = encodeFrame(good(), [new Uint8Array(10)]);
    return f.subarray(0, f.byteLength - 1);
  }],
  ['bad_frame', 'trailing bytes not declared as attachments', () => new Uint8Array([...encodeFrame(good(), [new Uint8Array(4)]), 9])],
  ['bad_frame', 'a text frame declaring attachments', () => JSON.stringify({ ...good(), attachments: [{ bytes: 4 }] })],
  ['schema', 'a missing id', () => { const e: Record<string, unknown> = { ...good() }; delete e.id; return JSON.stringify(e); }],
  ['schema', 'a wrong type', () => JSON.stringify({ ...good(), src: 42 })],
  ['schema', 'an unknown envelope field', () => JSON.stringify({ ...good(), extra: true })],
  ['schema', 'a known intent with a bad payload', () => JSON.stringify(makeEnvelope('voice.control.leave', {} as never, { src: 't', provider: 'discord', tenant: 'demo' }))],
  ['schema', 'a JSON value that is not an object', () => '[1,2,3]'],
  ['schema', 'a control op that is not subscribe/unsubscribe', () => JSON.stringify({ op: 'publish', pattern: 'a' })],
  ['topic_mismatch', 'dst of another tenant', () => JSON.stringify({ ...good(), dst: 'promethean.p.discord.t.other.note' })],
  ['bad_topic', 'publishing to a wildcard', () => JSON.stringify({ ...good(), dst: 'promethean.p.discord.t.demo.*' })],
  ['bad_topic', 'a dst that is not a topic', () => JSON.stringify({ ...good(), dst: 'not a topic' })],
  ['bad_topic', 'subscribing to a malformed pattern', () => JSON.stringify({ op: 'subscribe', pattern: 'a.>.b', ref: 'x' })],
  ['oversize', 'a text frame over maxFrameBytes', () => JSON.stringify({ ...good(), payload: { pad: 'x'.repeat(5000) } })],
  ['oversize', 'a binary frame over maxFrameBytes', () => encodeFrame(good(), [new Uint8Array(5000)])],
];

describe('hub rejects bad frames with exactly one typed error each', () => {
  it.each(cases)('answers %s for %s, keeps the connection, counts it', async (code, _what, make) => {
    hub = await startTempHub({ maxFrameBytes: 4096 });
    c = new RecordingClient(hub.url, hub.agentKey);
    await c.opened();
    await c.subscribe('promethean.>');
    c.send(make());
    const marker = good();
    c.send(marker); // a valid envelope after it still gets through, in order
    await c.waitFor(() => c!.envelopes().some((e) => e.id === marker.id));
    const envs = c.envelopes();
    expect(envs).toHaveLength(2);
    const error = parseEnvelope(envs[0]);
    expect(error.intent).toBe('error');
    expect((error.payload as { code: string }).code).toBe(code);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect(hub.metrics().errors).toEqual({ [code]: 1 });
  });

  it('addresses the error to the offending provider/tenant when readable, else promethean/system', async () => {
    hub = await startTempHub();
    c = new RecordingClient(hub.url, hub.agentKey);
    await c.opened();
    const bad = { ...good(), src: 42 };
    c.send(bad);
    c.send('{');
    await c.waitFor(() => c!.errors().length === 2);
    const [first, second] = c.envelopes();
    expect(first).toMatchObject({ provider: 'discord', tenant: 'demo', dst: 'promethean.p.discord.t.demo.error', src: 'hub' });
    expect(first!.payload).toMatchObject({ code: 'schema', ref_id: bad.id, topic: bad.dst, path: 'src' });
    expect(second).toMatchObject({ provider: 'promethean', tenant: 'system', dst: 'promethean.p.promethean.t.system.error' });
  });

  it('closes with 1009 only beyond hardMaxFrameBytes', async () => {
    hub = await startTempHub({ maxFrameBytes: 1024, hardMaxFrameBytes: 8192 });
    c = new RecordingClient(hub.url, hub.agentKey);
    await c.opened();
    c.send(new Uint8Array(9000));
    await c.waitFor(() => c!.closeCode !== undefined);
    expect(c.closeCode).toBe(1009);
  });
});
