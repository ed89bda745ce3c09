/**
 * The brain switchboard on a real PGlite store and the in-process bus: nothing changes without its
 * audit row, each tenant's table goes out whole, and workers asking at once get one answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnvelope, type Envelope } from '@promethean/shared';
import { InProcessBus } from '@promethean/shared/node';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import type { Principal } from '../hub/auth.ts';
import { BrainSwitchboard, QUERY_TOPIC, type BrainStore } from './brains.ts';

const G1 = '1100000000000000001';
const G2 = '1100000000000000002';
let template: PgliteTemplate;
beforeAll(async () => {
  template = await pgliteTemplate();
}, 60_000);
afterAll(async () => {
  await template?.close();
});

const owner: Principal = { role: 'owner', tenant: 'demo', sid: '0123456789abcdef', name: 'Ada' };

function listen(bus: InProcessBus): Envelope[] {
  const out: Envelope[] = [];
  bus.subscribe('promethean.p.*.t.*.cephalon.toggles', (e) => void out.push(e));
  return out;
}

async function settle(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
}

describe('BrainSwitchboard', () => {
  it('records, stores and announces a change; the table of each tenant goes out whole', async () => {
    const store = await template.fresh();
    const bus = new InProcessBus();
    const out = listen(bus);
    const board = new BrainSwitchboard(store, bus, { republishMs: 0 });
    await board.start();
    expect(out).toHaveLength(0); // nothing stored yet: nothing to announce
    await board.set(owner, { provider: 'discord', guild_id: G1, brain: 'voice', enabled: true });
    await board.set(owner, { provider: 'discord', guild_id: G2, brain: 'social', enabled: false });
    await board.set({ ...owner, tenant: 'other' }, { provider: 'discord', guild_id: G1, brain: 'social', enabled: true });
    await settle(() => out.length === 3);
    expect(out[1]!.payload).toMatchObject({ toggles: [{ guild_id: G1, brain: 'voice', enabled: true, updated_by: 'session:0123456789abcdef' }, { guild_id: G2, brain: 'social', enabled: false }] });
    expect(out[2]).toMatchObject({ tenant: 'other', payload: { toggles: [{ guild_id: G1, brain: 'social', enabled: true }] } });
    const audit = await store.listAudit({ provider: 'discord', tenant: 'demo' });
    expect(audit.map((r) => [r.action, r.guild_id, r.actor])).toEqual([
      ['bot.brain.set', G1, 'session:0123456789abcdef'],
      ['bot.brain.set', G2, 'session:0123456789abcdef'],
    ]);
    out.length = 0;
    await board.publishAll();
    await settle(() => out.length === 2);
    expect(out.map((e) => e.tenant).sort()).toEqual(['demo', 'other']);
    board.close();
  });

  it('refuses a change it cannot record (unavailable): nothing stored, nothing announced', async () => {
    const store = await template.fresh();
    const auditDown: BrainStore = {
      appendAudit: () => Promise.reject(new Error('the audit log is unreachable')),
      putBrainSwitch: (i) => store.putBrainSwitch(i),
      listBrainSwitches: (q) => store.listBrainSwitches(q),
    };
    const bus = new InProcessBus();
    const out = listen(bus);
    const board = new BrainSwitchboard(auditDown, bus, { republishMs: 0 });
    await board.start();
    await expect(board.set(owner, { provider: 'discord', guild_id: G1, brain: 'voice', enabled: true })).rejects.toMatchObject({ code: 'unavailable' });
    expect(await store.listBrainSwitches()).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(out).toEqual([]);
    board.close();
  });

  it('only an owner, within its guild, may switch', async () => {
    const store = await template.fresh();
    const board = new BrainSwitchboard(store, new InProcessBus(), { republishMs: 0 });
    const change = { provider: 'discord', guild_id: G1, brain: 'voice' as const, enabled: true };
    await expect(board.set({ role: 'moderator', tenant: 'demo', guild: G1, sid: 'aaaaaaaaaaaaaaaa' }, change)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(board.set({ ...owner, guild: G2 }, change)).rejects.toMatchObject({ code: 'forbidden', message: `this session is limited to guild ${G2}` });
    expect(await store.listAudit({ provider: 'discord', tenant: 'demo' })).toEqual([]);
    board.close();
  });

  it('answers workers\' queries with every table, several queries at once with one answer', async () => {
    const store = await template.fresh();
    await store.putBrainSwitch({ provider: 'discord', tenant: 'demo', guild_id: G1, brain: 'voice', enabled: true, updated_by: 'session:x' });
    const bus = new InProcessBus();
    const board = new BrainSwitchboard(store, bus, { republishMs: 0, minQueryIntervalMs: 50 });
    await board.start();
    const out = listen(bus);
    const query = () => bus.publish(makeEnvelope('cephalon.toggles.query', { worker: 'cephalon-voice' }, { src: 'cephalon-voice', provider: 'promethean', tenant: 'system' }));
    expect(QUERY_TOPIC).toBe('promethean.p.promethean.t.system.cephalon.toggles.query');
    query();
    query();
    query();
    await settle(() => out.length === 1 && board.counters.queries === 3);
    expect(board.counters.queries_coalesced).toBe(2);
    expect(out[0]!.payload).toMatchObject({ toggles: [{ guild_id: G1, brain: 'voice', enabled: true }] });
    board.close();
  });

  it('store input is checked: a bad brain or tenant is a typed error', async () => {
    const store = await template.fresh();
    await expect(store.putBrainSwitch({ provider: 'discord', tenant: 'demo', guild_id: G1, brain: 'telepathy' as never, enabled: true, updated_by: 'x' })).rejects.toMatchObject({ path: 'brain' });
    await expect(store.listBrainSwitches({ provider: 'discord' })).rejects.toMatchObject({ path: 'tenant' });
    expect(store.counters.rejectedInputs).toBe(2);
  });
});
