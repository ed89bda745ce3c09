/** Transcript history and deletion per user over HTTP, on the real hub and PGlite with its audit chain. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../hub/index.ts';
import { RelayStreams } from '../listen/streams.ts';
import { createWeriftSfu } from '../sfu/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import type { SqlStore } from '../store/sqlStore.ts';
import type { TranscriptInput } from '../store/index.ts';
import { mountTranscriptRoutes, type TranscriptRoutesCounters } from './routes.ts';
import { SessionScopes } from './session-scopes.ts';

const P = 'discord';
const G1 = '1100000000000000001';
const G2 = '1100000000000000002';
const C1 = '1200000000000000001';
const C2 = '1200000000000000002';
const ALICE = '1300000000000000001';
const BOB = '1300000000000000002';

const line = (tenant: string, session: string, segment: string, speaker: string, startS: number, over: Partial<TranscriptInput> = {}): TranscriptInput => ({
  provider: P, tenant, session_id: session, segment_id: segment, speaker_id: speaker, text: `${speaker === ALICE ? 'alice' : 'bob'} says ${segment}`,
  start_ns: String(BigInt(startS) * 1_000_000_000n), end_ns: String(BigInt(startS) * 1_000_000_000n + 800_000_000n),
  lang: 'en', confidence: 0.9, model: 'faster-whisper/whisper-tiny.en', final: true, words: [], tokens: 3, rtf: 0.2,
  transcribed_at: '2026-11-30T23:00:00.000Z', ...over,
});

describe('transcript routes', () => {
  let hub: Hub;
  let failingHub: Hub;
  let template: PgliteTemplate;
  let store: SqlStore;
  let counters: TranscriptRoutesCounters;
  let scopes: SessionScopes;

  beforeAll(async () => {
    template = await pgliteTemplate();
    store = await template.fresh();
    scopes = new SessionScopes(undefined, store);
    scopes.remember({ provider: P, tenant: 'demo', sessionId: 'g1-c1', guildId: G1, channelId: C1 });
    scopes.remember({ provider: P, tenant: 'demo', sessionId: 'g1-c2', guildId: G1, channelId: C2 });
    scopes.remember({ provider: P, tenant: 'demo', sessionId: 'g2-c1', guildId: G2, channelId: C1 });
    scopes.remember({ provider: P, tenant: 'other', sessionId: 'other-s', guildId: G1, channelId: C1 });
    await scopes.settled();
    hub = await createHub({
      dataDir: mkdtempSync(join(tmpdir(), 'transcripts-hub-')), writeRuntimeFile: false,
      mount: (app, ctx) => {
        counters = mountTranscriptRoutes(app, ctx, { store, scopes });
      },
    });
    // The audit log unreachable: the real store for transcripts, an append that always fails.
    const FakeAuditOutage = {
      listTranscripts: store.listTranscripts.bind(store),
      deleteSpeakerTranscripts: store.deleteSpeakerTranscripts.bind(store),
      appendAudit: () => Promise.reject(new Error('the audit log is unreachable')),
    };
    failingHub = await createHub({
      dataDir: mkdtempSync(join(tmpdir(), 'transcripts-hub-failing-')), writeRuntimeFile: false,
      mount: (app, ctx) => void mountTranscriptRoutes(app, ctx, { store: FakeAuditOutage, scopes }),
    });
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await failingHub?.close();
    await template?.close();
  });

  const call = async (path: string, token: string | undefined, method = 'GET', on: Hub = hub) => {
    const res = await fetch(`${on.httpUrl}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { lines?: { segment_id: string; speaker_id: string; text: string; start_ns: string; end_ns: string }[]; error?: { code: string; message: string } } };
  };
  const token = (role: 'owner' | 'moderator', tenant = 'demo', limits: { guild?: string; channel?: string } = {}, on: Hub = hub) => on.issueSessionToken({ role, tenant, ...limits }).token;

  describe('GET /api/sessions/:session_id/transcripts', () => {
    beforeAll(async () => {
      // Starts 9 s and 10 s: a text order of the session clock would swap them.
      await store.upsertTranscript(line('demo', 'g1-c1', 's10', ALICE, 10));
      await store.upsertTranscript(line('demo', 'g1-c1', 's9', BOB, 9));
      await store.upsertTranscript(line('demo', 'g1-c1', 's11', ALICE, 11));
      await store.upsertTranscript(line('demo', 'g1-c1', 's12', BOB, 12, { final: false, text: 'still spea' }));
      await store.upsertTranscript(line('demo', 'g1-c1', 's13', BOB, 13));
      await store.upsertTranscript(line('demo', 'g2-c1', 'x1', ALICE, 1));
      await store.upsertTranscript(line('other', 'g1-c1', 'o1', ALICE, 1, { text: 'another tenant' }));
    });

    it('lists the final lines in session-clock order, the newest `limit` when more match, with truncated saying so', async () => {
      const mod = token('moderator');
      const all = await call('/api/sessions/g1-c1/transcripts', mod);
      expect(all.status).toBe(200);
      expect(all.body.lines!.map((l) => l.segment_id)).toEqual(['s9', 's10', 's11', 's13']);
      expect(all.body.truncated).toBe(false);
      expect(all.body.lines![0]).toMatchObject({ speaker_id: BOB, text: 'bob says s9', start_ns: '9000000000', end_ns: '9800000000' });
      const two = await call('/api/sessions/g1-c1/transcripts?limit=2', mod);
      expect(two.body.lines!.map((l) => l.segment_id)).toEqual(['s11', 's13']);
      expect(two.body.truncated).toBe(true);
      const alice = await call(`/api/sessions/g1-c1/transcripts?speaker=${ALICE}`, mod);
      expect(alice.body.lines!.map((l) => l.segment_id)).toEqual(['s10', 's11']);
      // The clip span [10.5 s, 13 s): s10 ends at 10.8 s inside it, s13 starts at its exclusive end.
      const span = await call('/api/sessions/g1-c1/transcripts?from_ns=10500000000&to_ns=13000000000', mod);
      expect(span.body.lines!.map((l) => l.segment_id)).toEqual(['s10', 's11']);
      expect(counters.history).toBeGreaterThanOrEqual(4);
    });

    it('shows a session only its tenant’s lines: another tenant’s session of the same id stays hidden', async () => {
      const other = await call('/api/sessions/other-s/transcripts', token('owner'));
      expect(other.status).toBe(403);
      expect(other.body.error?.code).toBe('forbidden');
      const unknown = await call('/api/sessions/g1-c1/transcripts', token('owner', 'third'));
      // g1-c1 is known to be demo's: a third tenant's owner is refused, not shown an empty list.
      expect(unknown.status).toBe(403);
      const same = await call('/api/sessions/g1-c1/transcripts', token('owner'));
      expect(same.body.lines!.map((l) => l.text)).not.toContain('another tenant');
    });

    it('confines a guild- or channel-limited session to sessions known to be inside its limits', async () => {
      expect((await call('/api/sessions/g1-c1/transcripts', token('moderator', 'demo', { guild: G1 }))).status).toBe(200);
      expect((await call('/api/sessions/g1-c1/transcripts', token('moderator', 'demo', { guild: G1, channel: C1 }))).status).toBe(200);
      const otherGuild = await call('/api/sessions/g2-c1/transcripts', token('moderator', 'demo', { guild: G1 }));
      expect(otherGuild.status).toBe(403);
      expect(otherGuild.body.error).toMatchObject({ code: 'forbidden', message: `this session is limited to guild ${G1}` });
      expect((await call('/api/sessions/g1-c2/transcripts', token('moderator', 'demo', { guild: G1, channel: C1 }))).status).toBe(403);
      // A session recorded by an earlier server process: a fresh SessionScopes over the same store knows its guild.
      await store.recordTranscriptSession({ provider: P, tenant: 'demo', session_id: 'from-before', guild_id: G2, channel_id: C1 });
      const restarted = new SessionScopes(undefined, store);
      expect(await restarted.lookup(P, 'demo', 'from-before')).toEqual({ provider: P, tenant: 'demo', sessionId: 'from-before', guildId: G2, channelId: C1 });
      expect((await call('/api/sessions/from-before/transcripts', token('moderator', 'demo', { guild: G2 }))).status).toBe(200);
      expect((await call('/api/sessions/from-before/transcripts', token('moderator', 'demo', { guild: G1 }))).status).toBe(403);
      // A session whose guild the server does not know: refused for a limited session, readable tenant-wide.
      const unknown = await call('/api/sessions/never-announced/transcripts', token('moderator', 'demo', { guild: G1 }));
      expect(unknown.status).toBe(403);
      expect(unknown.body.error?.message).toMatch(/not known to this server/);
      expect((await call('/api/sessions/never-announced/transcripts', token('moderator'))).body).toEqual({ session_id: 'never-announced', lines: [], truncated: false });
    });

    it('refuses without a session (401) and bad parameters with a schema error naming them (400)', async () => {
      expect((await call('/api/sessions/g1-c1/transcripts', undefined)).status).toBe(401);
      const mod = token('moderator');
      const bad: Array<[string, string]> = [
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=ten', 'limit'],
        ['from_ns=-5', 'from_ns'],
        ['from_ns=12.5', 'from_ns'],
        ['from_ns=2000&to_ns=1000', 'to_ns'],
        ['speaker=a%20b', 'speaker'],
        ['colour=red', 'query'],
      ];
      for (const [query, field] of bad) {
        const r = await call(`/api/sessions/g1-c1/transcripts?${query}`, mod);
        expect(r.status, query).toBe(400);
        expect(r.body.error?.code, query).toBe('schema');
        expect(r.body.error?.message, query).toContain(field);
      }
      const colon = await call('/api/sessions/a%3Ab/transcripts', mod);
      expect(colon.body.error).toMatchObject({ code: 'schema' });
      expect(counters.refused).toBeGreaterThanOrEqual(bad.length + 2);
    });
  });

  describe('DELETE /api/transcripts/speakers/:user_id', () => {
    it('refuses moderators, other tenants reach only their own rows, and nothing is deleted or recorded then', async () => {
      await store.upsertTranscript(line('demo', 'g1-c1', 'd-mod', ALICE, 100));
      const before = (await store.listAudit({ provider: P, tenant: 'demo' })).length;
      const mod = await call(`/api/transcripts/speakers/${ALICE}`, token('moderator'), 'DELETE');
      expect(mod.status).toBe(403);
      expect(mod.body.error).toMatchObject({ code: 'forbidden', message: 'only an owner may delete a user’s transcripts' });
      expect((await call(`/api/transcripts/speakers/${ALICE}`, undefined, 'DELETE')).status).toBe(401);
      expect((await call('/api/transcripts/speakers/a%20b', token('owner'), 'DELETE')).body.error).toMatchObject({ code: 'schema' });
      // An owner of another tenant deletes in that tenant only.
      const third = await call(`/api/transcripts/speakers/${ALICE}`, token('owner', 'third'), 'DELETE');
      expect(third.body).toMatchObject({ deleted: 0, scope: { kind: 'tenant' } });
      expect((await store.listAudit({ provider: P, tenant: 'demo' })).length).toBe(before);
      expect(await store.getTranscript({ provider: P, tenant: 'demo', foreign_id: 'g1-c1:d-mod' })).toBeDefined();
    });

    it('a guild-limited owner deletes the user’s lines in sessions of its guild only', async () => {
      const t = 'guild-del';
      scopes.remember({ provider: P, tenant: t, sessionId: 'gd-1', guildId: G1, channelId: C1 });
      scopes.remember({ provider: P, tenant: t, sessionId: 'gd-2', guildId: G2, channelId: C1 });
      // A session of G1 recorded before a restart: in the store only, not in this process's memory.
      await store.recordTranscriptSession({ provider: P, tenant: t, session_id: 'gd-old', guild_id: G1, channel_id: C2 });
      await scopes.settled();
      await store.upsertTranscript(line(t, 'gd-1', 'a', ALICE, 1));
      await store.upsertTranscript(line(t, 'gd-1', 'b', BOB, 2));
      await store.upsertTranscript(line(t, 'gd-2', 'c', ALICE, 3));
      await store.upsertTranscript(line(t, 'unknown-session', 'd', ALICE, 4));
      await store.upsertTranscript(line(t, 'gd-old', 'e', ALICE, 5));
      const r = await call(`/api/transcripts/speakers/${ALICE}`, token('owner', t, { guild: G1 }), 'DELETE');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ user_id: ALICE, deleted: 2, scope: { kind: 'guild', guild_id: G1, sessions: 2 } });
      expect(await store.getTranscript({ provider: P, tenant: t, foreign_id: 'gd-1:a' })).toBeUndefined();
      expect(await store.getTranscript({ provider: P, tenant: t, foreign_id: 'gd-old:e' })).toBeUndefined();
      for (const id of ['gd-1:b', 'gd-2:c', 'unknown-session:d']) expect(await store.getTranscript({ provider: P, tenant: t, foreign_id: id }), id).toBeDefined();
    });

    it('a tenant-wide owner deletes everything the user said in the tenant, recorded before and counted after', async () => {
      const t = 'tenant-del';
      await store.upsertTranscript(line(t, 'g1-c1', 'a', ALICE, 1));
      await store.upsertTranscript(line(t, 'g2-c1', 'b', ALICE, 2));
      await store.upsertTranscript(line(t, 'g2-c1', 'c', BOB, 3));
      await store.upsertTranscript(line('demo', 'g1-c1', 'keep', ALICE, 200));
      const owner = hub.issueSessionToken({ role: 'owner', tenant: t, name: 'Olga' }).token;
      const r = await call(`/api/transcripts/speakers/${ALICE}`, owner, 'DELETE');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ user_id: ALICE, deleted: 2, scope: { kind: 'tenant' } });
      expect((await store.listTranscripts({ provider: P, tenant: t, session_id: 'g2-c1' })).map((x) => x.segment_id)).toEqual(['c']);
      expect(await store.getTranscript({ provider: P, tenant: 'demo', foreign_id: 'g1-c1:keep' })).toBeDefined();
      const audit = await store.listAudit({ provider: P, tenant: t });
      const asked = audit.find((a) => a.id === r.body.audit_id)!;
      expect(asked).toMatchObject({ action: 'transcripts.delete', guild_id: null });
      expect(asked.actor).toMatch(/^session:[0-9a-f]{16}$/);
      expect(asked.detail).toMatchObject({ user_id: ALICE, scope: { kind: 'tenant' }, role: 'owner', name: 'Olga' });
      const done = audit.find((a) => a.action === 'transcripts.deleted')!;
      expect(done.detail).toMatchObject({ user_id: ALICE, deleted: 2, request_audit_id: r.body.audit_id });
      expect(BigInt(done.id)).toBeGreaterThan(BigInt(asked.id));
      expect(counters.deletedRows).toBeGreaterThanOrEqual(3);
    });

    it('refuses with 503 unavailable and deletes nothing when the audit log cannot be written', async () => {
      const t = 'audit-down';
      await store.upsertTranscript(line(t, 'g1-c1', 'a', ALICE, 1));
      const r = await call(`/api/transcripts/speakers/${ALICE}`, token('owner', t, {}, failingHub), 'DELETE', failingHub);
      expect(r.status).toBe(503);
      expect(r.body.error).toMatchObject({ code: 'unavailable' });
      expect(r.body.error?.message).toMatch(/nothing was deleted/);
      expect(await store.getTranscript({ provider: P, tenant: t, foreign_id: 'g1-c1:a' })).toBeDefined();
    });
  });
});

describe('SessionScopes', () => {
  it('records a session the relay announces in the store, so it stays known after the session ends and after a restart', async () => {
    const template = await pgliteTemplate();
    const store = await template.fresh();
    const sfu = await createWeriftSfu({});
    const streams = new RelayStreams(sfu);
    try {
      const scopes = new SessionScopes(streams, store, { maxRemembered: 2 });
      await streams.apply({ provider: P, tenant: 'demo', session_id: 'live-1', guild_id: G1, channel_id: C1, streams: [{ user_id: ALICE, ssrc: 0x55aa0101, payload_type: 120 }] });
      await scopes.settled();
      expect(scopes.counters.recorded).toBe(1);
      expect(await store.getTranscriptSession({ provider: P, tenant: 'demo', session_id: 'live-1' })).toMatchObject({ guild_id: G1, channel_id: C1 });
      expect(await scopes.lookup(P, 'demo', 'live-1')).toEqual({ provider: P, tenant: 'demo', sessionId: 'live-1', guildId: G1, channelId: C1 });
      streams.close();
      expect(streams.session('live-1')).toBeUndefined();
      expect((await scopes.lookup(P, 'demo', 'live-1'))?.guildId).toBe(G1);
      expect(await scopes.sessionsOf(P, 'demo', G1)).toEqual(['live-1']);
      expect(await scopes.sessionsOf(P, 'demo', G1, C2)).toEqual([]);
      // Bounded memory: the least recently seen goes first, and the store still answers for it.
      scopes.remember({ provider: P, tenant: 'demo', sessionId: 'b', guildId: G2, channelId: C1 });
      scopes.remember({ provider: P, tenant: 'demo', sessionId: 'c', guildId: G2, channelId: C1 });
      await scopes.settled();
      expect(scopes.size).toBe(2);
      const restarted = new SessionScopes(undefined, store);
      expect((await restarted.lookup(P, 'demo', 'live-1'))?.channelId).toBe(C1);
      expect(await restarted.lookup(P, 'other', 'live-1')).toBeUndefined();
      expect((await restarted.sessionsOf(P, 'demo', G2)).sort()).toEqual(['b', 'c']);
      // A session id reused in another guild moves.
      scopes.remember({ provider: P, tenant: 'demo', sessionId: 'b', guildId: G1, channelId: C2 });
      await scopes.settled();
      expect((await new SessionScopes(undefined, store).lookup(P, 'demo', 'b'))?.guildId).toBe(G1);
    } finally {
      streams.close();
      await sfu.close();
      await template.close();
    }
  });

  it('a failed store write is counted and written again at the next announcement', async () => {
    let fail = true;
    const written: string[] = [];
    const FakeFlakyStore = {
      recordTranscriptSession: async (s: { session_id: string }) => {
        if (fail) throw new Error('the store is unreachable');
        written.push(s.session_id);
      },
      getTranscriptSession: async () => undefined,
      listTranscriptSessions: async () => [],
    };
    const lines: string[] = [];
    const scopes = new SessionScopes(undefined, FakeFlakyStore, {}, (l) => void lines.push(l));
    const info = { provider: P, tenant: 'demo', sessionId: 's', guildId: G1, channelId: C1 };
    scopes.remember(info);
    await scopes.settled();
    expect(scopes.counters.recordErrors).toBe(1);
    expect(lines[0]).toMatch(/could not record the guild of session s/);
    fail = false;
    scopes.remember({ ...info });
    await scopes.settled();
    scopes.remember({ ...info });
    await scopes.settled();
    expect(written).toEqual(['s']);
  });
});
