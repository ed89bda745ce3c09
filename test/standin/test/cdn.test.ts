/** The stand-in's CDN: avatar PNGs at Discord's path shapes, sizes honoured, deterministic, 404 for stale hashes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePalettePng, PNG_SIGNATURE } from '../src/cdn/png.ts';
import { startStandin } from '../src/standin.ts';
import type { Standin } from '../src/standin.ts';

const audio = { sampleRate: 48000, channels: [new Float32Array(960)] };

async function get(url: string): Promise<{ status: number; type: string | null; body: Uint8Array }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: new Uint8Array(await res.arrayBuffer()) };
}

describe('stand-in CDN', () => {
  let standin: Standin;
  beforeAll(async () => {
    standin = await startStandin({
      speakers: [
        { name: 'alice', audio },
        { name: 'bob', audio, nick: 'Bobby', guildAvatar: true },
        { name: 'carol', audio, avatar: false },
      ],
    });
  });
  afterAll(async () => {
    await standin?.close();
  });

  const user = (name: string) => standin.world.users.get(standin.speakers.get(name)!.userId)!;

  it('serves a user avatar at /avatars/{id}/{hash}.png as a decodable PNG, 128 px by default and ?size= honoured', async () => {
    const alice = user('alice');
    expect(alice.avatar).toMatch(/^[0-9a-f]{32}$/);
    expect(standin.cdnBase).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const plain = await get(`${standin.cdnBase}/avatars/${alice.id}/${alice.avatar}.png`);
    expect(plain.status).toBe(200);
    expect(plain.type).toBe('image/png');
    expect(plain.body.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const png = decodePalettePng(plain.body);
    expect([png.width, png.height, png.bitDepth, png.colourType]).toEqual([128, 128, 8, 3]);
    expect(new Set(png.pixels).size).toBe(2); // background and the identicon's colour
    for (const size of [16, 64, 512]) {
      const r = await get(`${standin.cdnBase}/avatars/${alice.id}/${alice.avatar}.png?size=${size}`);
      const d = decodePalettePng(r.body);
      expect([d.width, d.height], `size ${size}`).toEqual([size, size]);
    }
  });

  it('is deterministic per hash and differs between users', async () => {
    const alice = user('alice');
    const bob = user('bob');
    const a1 = await get(`${standin.cdnBase}/avatars/${alice.id}/${alice.avatar}.png?size=64`);
    const a2 = await get(`${standin.cdnBase}/avatars/${alice.id}/${alice.avatar}.png?size=64`);
    const b = await get(`${standin.cdnBase}/avatars/${bob.id}/${bob.avatar}.png?size=64`);
    expect(Buffer.from(a1.body).equals(Buffer.from(a2.body))).toBe(true);
    expect(Buffer.from(a1.body).equals(Buffer.from(b.body))).toBe(false);
  });

  it('serves guild member avatars and the six default avatars; a user without an avatar has avatar null', async () => {
    const bob = user('bob');
    const member = standin.world.members.get(bob.id)!;
    expect(member).toMatchObject({ nick: 'Bobby', avatar: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const m = await get(`${standin.cdnBase}/guilds/${standin.guildId}/users/${bob.id}/avatars/${member.avatar}.png?size=32`);
    expect(m.status).toBe(200);
    expect(decodePalettePng(m.body).width).toBe(32);
    expect(user('carol').avatar).toBeNull();
    for (let i = 0; i < 6; i++) {
      const d = await get(`${standin.cdnBase}/embed/avatars/${i}.png`);
      expect(d.status, `default avatar ${i}`).toBe(200);
      expect(decodePalettePng(d.body).width).toBe(128);
    }
  });

  it('answers 404 for an unknown user, a stale hash or default avatar 6, and 400 for a size that is not a power of two in 16..4096', async () => {
    const alice = user('alice');
    expect((await get(`${standin.cdnBase}/avatars/${alice.id}/00000000000000000000000000000000.png`)).status).toBe(404);
    expect((await get(`${standin.cdnBase}/avatars/1/${alice.avatar}.png`)).status).toBe(404);
    expect((await get(`${standin.cdnBase}/guilds/1/users/${alice.id}/avatars/${alice.avatar}.png`)).status).toBe(404);
    expect((await get(`${standin.cdnBase}/embed/avatars/6.png`)).status).toBe(404);
    for (const size of ['100', '8', '8192', 'big']) {
      expect((await get(`${standin.cdnBase}/avatars/${alice.id}/${alice.avatar}.png?size=${size}`)).status, size).toBe(400);
    }
    expect(standin.gateway.cdn.counters).toMatchObject({ notFound: 4, badRequest: 4 });
  });

  it('leaves REST alone: /api paths still need a bot token', async () => {
    expect((await fetch(`${standin.restApi}/v10/users/@me`)).status).toBe(401);
  });
});
