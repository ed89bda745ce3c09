import { describe, expect, it } from 'vitest';
import { BUS_PCM_FORMAT, decodeFrame, encodeFrame, makeEnvelope, parseEnvelope, UUID_V7_RE, type PayloadOf } from '@promethean/shared';
import { PcmFrameEncoder, UuidV7Source } from './pcm-frame-encoder.ts';

const OPTIONS = { src: 'discord-voice-access', provider: 'discord', tenant: 'demo', sessionId: 'g1-c1', build_sha: 'abc123', config_rev: 'r7' };

function payload(userId: string, extra: Partial<PayloadOf<'voice.audio.pcm'>['rtp']> = {}): PayloadOf<'voice.audio.pcm'> {
  return {
    session_id: OPTIONS.sessionId,
    user_id: userId,
    ts_monotonic_ns: '123456789012345',
    format: { ...BUS_PCM_FORMAT },
    rtp: { ssrc: 4242, seq: 65535, timestamp: 4294967295, ...extra },
    attachment: 0,
  };
}

/** The reference: what the agent runtime + BusClient build (makeEnvelope, then encodeFrame). */
function reference(p: PayloadOf<'voice.audio.pcm'>, pcm: Uint8Array) {
  const env = makeEnvelope('voice.audio.pcm', p, { src: OPTIONS.src, provider: OPTIONS.provider, tenant: OPTIONS.tenant, build_sha: OPTIONS.build_sha, config_rev: OPTIONS.config_rev });
  return decodeFrame(encodeFrame(env, [pcm]));
}

describe('PcmFrameEncoder', () => {
  const pcm = Uint8Array.from({ length: 1920 }, (_, i) => (i * 7) & 0xff);

  for (const [name, p] of [
    ['plain', payload('1100000000000000042')],
    ['with loss/jitter and concealment', payload('1100000000000000042', { lost: 3, jitter: 1.234, concealed: 'fec' })],
    ['non-ASCII user id', payload('ユーザー"\\1')],
  ] as const) {
    it(`encodes a frame that parseEnvelope accepts and that equals makeEnvelope + encodeFrame but for id and ts (${name})`, () => {
      const enc = new PcmFrameEncoder(OPTIONS);
      for (let i = 0; i < 2; i++) { // second call uses the cached prefix
        const frame = enc.encode(p, pcm);
        const got = decodeFrame(frame);
        const env = parseEnvelope(got.header);
        const ref = reference(p, pcm);
        const { id, ts, ...rest } = got.header as Record<string, unknown>;
        const { id: _i, ts: _t, ...refRest } = ref.header as Record<string, unknown>;
        expect(rest).toEqual(refRest);
        expect(id).toMatch(UUID_V7_RE);
        expect(Math.abs(Date.parse(ts as string) - Date.now())).toBeLessThan(5000);
        expect(env.payload).toEqual(p);
        expect(Array.from(got.attachments[0]!)).toEqual(Array.from(pcm));
      }
    });
  }

  it('refuses a payload of another session with a RangeError', () => {
    const enc = new PcmFrameEncoder(OPTIONS);
    expect(() => enc.encode({ ...payload('u'), session_id: 'other' }, pcm)).toThrow(RangeError);
  });
});

describe('UuidV7Source', () => {
  it('makes distinct, ordered UUID v7 ids whose time field is the given millisecond', () => {
    const ids = new UuidV7Source();
    const now = Date.UTC(2026, 10, 22, 9, 0, 0, 123);
    const got = Array.from({ length: 3000 }, (_, i) => ids.next(now + Math.floor(i / 1000)));
    for (const id of got) expect(id).toMatch(UUID_V7_RE);
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual(got);
    expect(parseInt(got[0]!.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });
});
