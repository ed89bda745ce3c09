/** Evidence exports go on the audit log with the clip's sha256, within the session's scope; owners switch replay and export per guild. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Server } from '../app.ts';

const G1 = '1100000000000000001';
const G2 = '1100000000000000002';
const C1 = '1200000000000000001';
const U1 = '1300000000000000001';
let server: Server;
let dir: string;

const api = (path: string, token: string | undefined, body?: unknown, method?: string) =>
  fetch(`${server.hub.httpUrl}${path}`, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });

const clip = (over: Record<string, unknown> = {}) => ({
  session_id: 'discord:demo:g:c',
  guild_id: G1,
  channel_id: C1,
  user_id: U1,
  speaker_name: 'Alice',
  start_ns: '1000000000',
  end_ns: '3000000000',
  utc_start: '2026-11-30T23:00:00.000Z',
  utc_end: '2026-11-30T23:00:02.000Z',
  sha256: 'ab'.repeat(32),
  bytes: 192_044,
  format: 'wav',
  ...over,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evidence-routes-'));
  server = await startServer({ dataDir: dir, port: 0, log: () => undefined });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('/api/evidence', () => {
  it('records an export with its sha256 and who exported it, and answers the audit row', async () => {
    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', name: 'Ana' }).token;
    const res = await api('/api/evidence', mod, clip());
    expect(res.status).toBe(201);
    const body = (await res.json()) as { audit_id: string; exported_by: { role: string; name: string } };
    expect(body.exported_by).toMatchObject({ role: 'moderator', name: 'Ana' });
    const rows = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
    const row = rows.find((r) => r.id === body.audit_id)!;
    expect(row.action).toBe('evidence.export');
    expect(row.guild_id).toBe(G1);
    const detail = (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown>;
    expect(detail).toMatchObject({ sha256: 'ab'.repeat(32), user_id: U1, start_ns: '1000000000', end_ns: '3000000000', format: 'wav' });
  });

  it('refuses without a session (401), outside the scope (403) and bad bodies (400)', async () => {
    expect((await api('/api/evidence', undefined, clip())).status).toBe(401);
    const other = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G2 }).token;
    expect((await api('/api/evidence', other, clip())).status).toBe(403);
    const channel = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo', guild: G1, channel: '1200000000000000009' }).token;
    expect((await api('/api/evidence', channel, clip())).status).toBe(403);
    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    expect((await api('/api/evidence', mod, clip({ sha256: 'XYZ' }))).status).toBe(400);
    expect((await api('/api/evidence', mod, clip({ end_ns: '10' }))).status).toBe(400);
    expect((await api('/api/evidence', mod, '{not json')).status).toBe(400);
  });

  it('records how many transcript lines the sidecar carries, as the session history route lists them for the clip’s span', async () => {
    const line = (segment: string, startS: number) => ({
      provider: 'discord', tenant: 'demo', session_id: 'ev-session', segment_id: segment, speaker_id: U1, text: `line ${segment}`,
      start_ns: String(startS * 1_000_000_000), end_ns: String(startS * 1_000_000_000 + 500_000_000), final: true,
    });
    for (const [segment, s] of [['before', 0], ['in-1', 1], ['in-2', 2], ['after', 3]] as const) await server.store.upsertTranscript(line(segment, s));
    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    const history = await api('/api/sessions/ev-session/transcripts?from_ns=1000000000&to_ns=3000000000', mod);
    const { lines } = (await history.json()) as { lines: { segment_id: string }[] };
    expect(lines.map((l) => l.segment_id)).toEqual(['in-1', 'in-2']);
    const res = await api('/api/evidence', mod, clip({ session_id: 'ev-session', transcript_lines: lines.length }));
    expect(res.status).toBe(201);
    const { audit_id } = (await res.json()) as { audit_id: string };
    const row = (await server.store.listAudit({ provider: 'discord', tenant: 'demo' })).find((r) => r.id === audit_id)!;
    expect(row.detail).toMatchObject({ transcript_lines: 2, session_id: 'ev-session' });
    expect((await api('/api/evidence', mod, clip({ transcript_lines: -1 }))).status).toBe(400);
  });

  it('an owner turns export off for a guild: the route refuses with export_disabled, the change is on record and survives a fresh read', async () => {
    const owner = server.hub.issueSessionToken({ role: 'owner', tenant: 'demo' }).token;
    const mod = server.hub.issueSessionToken({ role: 'moderator', tenant: 'demo' }).token;
    expect(await (await api(`/api/evidence/policy?guild_id=${G1}`, mod)).json()).toEqual({ guild_id: G1, replay: true, export: true });
    expect((await api('/api/evidence/policy', mod, { guild_id: G1, replay: true, export: false }, 'PUT')).status).toBe(403);
    const put = await api('/api/evidence/policy', owner, { guild_id: G1, replay: true, export: false }, 'PUT');
    expect(await put.json()).toEqual({ guild_id: G1, replay: true, export: false });
    const refused = await api('/api/evidence', mod, clip());
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('export_disabled');
    // Replay off takes export with it.
    expect(await (await api('/api/evidence/policy', owner, { guild_id: G1, replay: false, export: true }, 'PUT')).json()).toEqual({ guild_id: G1, replay: false, export: false });
    // The setting lives in the audit log: a fresh reader finds it.
    const { EvidencePolicies } = await import('./policy.ts');
    expect(await new EvidencePolicies(server.store).get('discord', 'demo', G1)).toEqual({ replay: false, export: false });
    expect(await new EvidencePolicies(server.store).get('discord', 'demo', G2)).toEqual({ replay: true, export: true });
    const rows = await server.store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(rows.filter((r) => r.action === 'evidence.policy')).toHaveLength(2);
  });
});
