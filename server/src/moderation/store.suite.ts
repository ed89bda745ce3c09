/**
 * Moderation rules and flags round-trip through a real store. Run by every driver: `store.test.ts`
 * (PGlite) and `store.postgres.test.ts` (PostgreSQL). `create` returns a fresh, migrated, empty store.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreInputError, type ModerationFlagInput, type Store } from '../store/index.ts';

const G1 = '1100000000000000001';
const G2 = '1100000000000000002';

export function runModerationStoreSuite(driver: string, create: () => Promise<Store>): void {
  let store: Store;
  beforeEach(async () => {
    store = await create();
  });

  const flag = (over: Partial<ModerationFlagInput> = {}): ModerationFlagInput => ({
    provider: 'discord',
    tenant: 'demo',
    guild_id: G1,
    channel_id: '1200000000000000002',
    session_id: 'vs-01',
    segment_id: 'seg-1',
    speaker_id: '1300000000000000003',
    rule_id: 'hear-me',
    rule_kind: 'phrase',
    rule_label: 'test',
    rule_pattern: 'hear me',
    text: 'can everyone hear me',
    span_start: 13,
    span_end: 20,
    span_text: 'hear me',
    span_start_ns: '1800000000',
    span_end_ns: '2150000000',
    clip_start_ns: '1000000000',
    clip_end_ns: '3000000000',
    ...over,
  });

  describe(`moderation rules in the ${driver} store`, () => {
    it('put creates then replaces, list is by guild and rule id, delete returns the rule as it was', async () => {
      const base = { provider: 'discord', tenant: 'demo', guild_id: G1, kind: 'phrase' as const, pattern: 'hear me', updated_by: 'session:a' };
      expect((await store.putModerationRule({ ...base, rule_id: 'b' })).created).toBe(true);
      const { created, rule } = await store.putModerationRule({ ...base, rule_id: 'b', pattern: 'hear you', enabled: false });
      expect(created).toBe(false);
      expect(rule).toMatchObject({ rule_id: 'b', pattern: 'hear you', enabled: false, threshold: null, label: null });
      await store.putModerationRule({ ...base, rule_id: 'a', kind: 'semantic', pattern: 'I will hurt you', threshold: 0.7 });
      await store.putModerationRule({ ...base, guild_id: G2, rule_id: 'c' });
      await store.putModerationRule({ ...base, tenant: 'other', rule_id: 'z' });
      expect((await store.listModerationRules({ provider: 'discord', tenant: 'demo', guild_id: G1 })).map((r) => [r.rule_id, r.threshold])).toEqual([['a', 0.7], ['b', null]]);
      expect((await store.listModerationRules({ provider: 'discord', tenant: 'demo' })).map((r) => r.rule_id)).toEqual(['a', 'b', 'c']);
      expect((await store.deleteModerationRule({ provider: 'discord', tenant: 'demo', guild_id: G1, rule_id: 'b' }))?.pattern).toBe('hear you');
      expect(await store.deleteModerationRule({ provider: 'discord', tenant: 'demo', guild_id: G1, rule_id: 'b' })).toBeUndefined();
    });

    it('refuses bad rules with StoreInputError naming the field, and counts them', async () => {
      const before = store.counters.rejectedInputs;
      const base = { provider: 'discord', tenant: 'demo', guild_id: G1, rule_id: 'x', pattern: 'p', updated_by: 'a' };
      await expect(store.putModerationRule({ ...base, kind: 'semantic' })).rejects.toThrow(/threshold/);
      await expect(store.putModerationRule({ ...base, kind: 'phrase', rule_id: 'Bad!' })).rejects.toBeInstanceOf(StoreInputError);
      await expect(store.putModerationRule({ ...base, kind: 'phrase', pattern: 'a\u0000b' })).rejects.toThrow(/rule\.pattern/);
      expect(store.counters.rejectedInputs).toBe(before + 3);
    });
  });

  describe(`moderation flags in the ${driver} store`, () => {
    it('put is idempotent by session, segment and rule; get and list return what was stored', async () => {
      const first = await store.putModerationFlag(flag());
      expect(first.created).toBe(true);
      expect(first.flag).toMatchObject({ foreign_id: 'vs-01:seg-1:hear-me', status: 'open', has_clip: false, span_text: 'hear me', span_start_ns: '1800000000', decided_at: null });
      const again = await store.putModerationFlag(flag({ text: 'can everyone hear me, again' }));
      expect(again).toEqual({ created: false, flag: first.flag });
      const other = await store.putModerationFlag(flag({ rule_id: 'other' }));
      expect(other.flag.id).not.toBe(first.flag.id);
      expect(await store.getModerationFlag({ provider: 'discord', tenant: 'demo', id: first.flag.id })).toEqual(first.flag);
      expect(await store.getModerationFlag({ provider: 'discord', tenant: 'other', id: first.flag.id })).toBeUndefined();
      expect((await store.listModerationFlags({ provider: 'discord', tenant: 'demo' })).map((f) => f.id)).toEqual([other.flag.id, first.flag.id]);
    });

    it('keeps the clip audio byte for byte', async () => {
      const pcm = new Uint8Array(4000);
      for (let i = 0; i < pcm.length; i++) pcm[i] = (i * 37) & 0xff;
      const { flag: row } = await store.putModerationFlag(flag({ clip_pcm: pcm, clip_rate_hz: 48000 }));
      expect(row.has_clip).toBe(true);
      const clip = await store.getModerationFlagClip({ provider: 'discord', tenant: 'demo', id: row.id });
      expect(clip?.rate_hz).toBe(48000);
      expect(Buffer.from(clip!.pcm).equals(Buffer.from(pcm))).toBe(true);
      const none = await store.putModerationFlag(flag({ segment_id: 'seg-2' }));
      expect(await store.getModerationFlagClip({ provider: 'discord', tenant: 'demo', id: none.flag.id })).toBeUndefined();
    });

    it('filters by guild, channel, status and pages backwards', async () => {
      const a = (await store.putModerationFlag(flag({ segment_id: 'a' }))).flag;
      const b = (await store.putModerationFlag(flag({ segment_id: 'b', guild_id: G2, channel_id: null }))).flag;
      const c = (await store.putModerationFlag(flag({ segment_id: 'c' }))).flag;
      await store.decideModerationFlag({ provider: 'discord', tenant: 'demo', id: c.id, status: 'dismissed', decided_by: 'x' });
      const ids = async (q: Record<string, unknown>) => (await store.listModerationFlags({ provider: 'discord', tenant: 'demo', ...q })).map((f) => f.id);
      expect(await ids({ guild_ids: [G1] })).toEqual([c.id, a.id]);
      expect(await ids({ guild_ids: [G2] })).toEqual([b.id]);
      expect(await ids({ channel_ids: ['1200000000000000002'] })).toEqual([c.id, a.id]);
      expect(await ids({ status: 'open' })).toEqual([b.id, a.id]);
      expect(await ids({ before_id: c.id, limit: 1 })).toEqual([b.id]);
    });

    it('a decision changes an open flag once; a later one returns the flag unchanged', async () => {
      const { flag: row } = await store.putModerationFlag(flag());
      const key = { provider: 'discord', tenant: 'demo', id: row.id };
      const ack = await store.decideModerationFlag({ ...key, status: 'acknowledged', decided_by: 'session:m1' });
      expect(ack?.changed).toBe(true);
      expect(ack?.flag).toMatchObject({ status: 'acknowledged', decided_by: 'session:m1' });
      expect(ack?.flag.decided_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      const late = await store.decideModerationFlag({ ...key, status: 'dismissed', decided_by: 'session:m2' });
      expect(late).toEqual({ changed: false, flag: ack!.flag });
      expect(await store.decideModerationFlag({ ...key, tenant: 'other', status: 'dismissed', decided_by: 'x' })).toBeUndefined();
    });

    it('refuses a span outside the text, reversed times and a clip without its rate', async () => {
      await expect(store.putModerationFlag(flag({ span_end: 99 }))).rejects.toThrow(/span/);
      await expect(store.putModerationFlag(flag({ span_start_ns: '3000000000' }))).rejects.toThrow(/span_end_ns/);
      await expect(store.putModerationFlag(flag({ clip_pcm: new Uint8Array(4) }))).rejects.toThrow(/clip_rate_hz/);
      await expect(store.putModerationFlag(flag({ clip_pcm: new Uint8Array(3), clip_rate_hz: 48000 }))).rejects.toThrow(/16-bit/);
      await expect(store.putModerationFlag(flag({ session_id: 'a:b' }))).rejects.toBeInstanceOf(StoreInputError);
    });
  });
}
