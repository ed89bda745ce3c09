import { afterEach, describe, expect, it } from 'vitest';
import { DaveServer } from './DaveServer.ts';
import { DaveLoopback } from './loopback.ts';
import { defaultDaveFaults } from './faults.ts';
import { DaveOp, encodeClientBinary } from './opcodes.ts';
import { opusTone } from './testOpus.ts';
import type { DaveParticipant } from './DaveParticipant.ts';
import type { DaveGroup } from './DaveGroup.ts';

const CHANNEL = '1234567890123456789';
const [A, B, C] = ['200000000000000001', '200000000000000002', '200000000000000003'] as const;

let net: DaveLoopback | undefined;
let server: DaveServer | undefined;
afterEach(() => {
  net?.close();
  server?.close();
});

async function formed(users: string[], readyTimeoutMs = 400): Promise<{ n: DaveLoopback; g: DaveGroup; ps: DaveParticipant[] }> {
  server = await DaveServer.create({ enabled: true, readyTimeoutMs });
  const n = new DaveLoopback(server, CHANNEL);
  net = n;
  const ps = users.map((u) => n.join(u));
  const g = server.group(CHANNEL);
  await settled(n, g, ps, users.length);
  return { n, g, ps };
}

async function settled(n: DaveLoopback, g: DaveGroup, ps: DaveParticipant[], size: number): Promise<void> {
  await n.until(
    () => g.status === 'stable' && g.groupMembers.length === size && ps.every((p) => p.ready && Number(p.epoch) === Number(g.epoch)),
    8000,
    `group of ${size} settled`,
  );
  // the server's leaf bookkeeping agrees with every member's own view
  for (const p of ps) expect(g.leaves.leafOf(p.userId)).toBe(p.session.ownLeafIndex);
}

function decrypts(sender: DaveParticipant, receiver: DaveParticipant): boolean {
  const frame = opusTone(480, 1)[0]!;
  return receiver.decryptOpus(sender.userId, sender.encryptOpus(frame))?.equals(frame) ?? false;
}

describe('DaveGroup faults and recovery', () => {
  it('a corrupted commit makes the member send op 31; it is removed and re-added and decrypts again', async () => {
    const { n, g, ps } = await formed([A, B]);
    g.faults.corruptCommitFor = A;
    const c = n.join(C);
    await n.until(() => g.counters.invalidReports >= 1, 5000, 'op 31');
    await settled(n, g, [...ps, c], 3);
    expect(g.epoch).toBeGreaterThanOrEqual(3n);
    expect(n.log.some((l) => l.dir === 'C>S' && l.op === DaveOp.MlsInvalidCommitWelcome && l.userId === A)).toBe(true);
    expect(decrypts(ps[0]!, c) && decrypts(c, ps[0]!) && decrypts(ps[1]!, ps[0]!)).toBe(true);
  });

  it('a corrupted welcome makes the joiner send op 31 and it is welcomed again at a later epoch', async () => {
    const { n, g, ps } = await formed([A, B]);
    g.faults.corruptWelcomeFor = C;
    const c = n.join(C);
    await n.until(() => g.counters.invalidReports >= 1, 5000, 'op 31');
    await settled(n, g, [...ps, c], 3);
    expect(g.epoch).toBeGreaterThanOrEqual(3n);
    expect(decrypts(c, ps[1]!) && decrypts(ps[1]!, c)).toBe(true);
  });

  it('a dropped commit leaves that member behind: op 22 goes out after the ready timeout and it cannot decrypt', async () => {
    const { n, g, ps } = await formed([A, B], 300);
    g.faults.dropCommitFor = B;
    const executed = new Promise<string[]>((resolve) => g.once('executed', (_tid, late) => resolve(late)));
    const c = n.join(C);
    expect(await executed).toEqual([B]);
    await n.until(() => c.ready && Number(c.epoch) === 2 && Number(ps[0]!.epoch) === 2);
    expect(Number(ps[1]!.epoch)).toBe(1);
    expect(decrypts(ps[0]!, ps[1]!)).toBe(false);
    expect(decrypts(ps[0]!, c)).toBe(true);
  });

  it('transition id 0 is announced without op 22 and every member applies it at once', async () => {
    server = await DaveServer.create({ enabled: true, readyTimeoutMs: 400, faults: { ...defaultDaveFaults, zeroTransitionId: true } });
    const n = new DaveLoopback(server, CHANNEL);
    net = n;
    const ps = [A, B].map((u) => n.join(u));
    const g = server.group(CHANNEL);
    await settled(n, g, ps, 2);
    expect(n.log.filter((l) => l.op === DaveOp.ExecuteTransition)).toHaveLength(0);
    expect(n.log.filter((l) => l.op === DaveOp.TransitionReady)).toHaveLength(0);
    expect(decrypts(ps[0]!, ps[1]!)).toBe(true);
  });

  it('a late execute (executeDelayMs) holds op 22 back after every op 23', async () => {
    const { n, g, ps } = await formed([A, B]);
    g.faults.executeDelayMs = 250;
    let readyAt: number;
    const c = n.join(C);
    const t0 = Date.now();
    const tid = await new Promise<number>((resolve) => g.once('commit', (info) => resolve(info.transitionId)));
    await n.until(() => n.log.filter((l) => l.op === DaveOp.TransitionReady).length >= 4);
    readyAt = Date.now();
    await new Promise<void>((resolve) => g.once('executed', () => resolve()));
    expect(Date.now() - readyAt).toBeGreaterThanOrEqual(200);
    expect(tid).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await settled(n, g, [...ps, c], 3);
  });

  it('the same user reconnecting replaces its leaf and the epoch rises', async () => {
    const { n, g, ps } = await formed([A, B]);
    const before = g.epoch;
    const b2 = n.join(B);
    await settled(n, g, [ps[0]!, b2], 2);
    expect(g.epoch).toBeGreaterThan(before);
    expect(decrypts(ps[0]!, b2) && decrypts(b2, ps[0]!)).toBe(true);
  });

  it('a joiner leaving before its Add is committed gets its proposal revoked', async () => {
    const { n, g, ps } = await formed([A, B]);
    g.once('stateChange', (_from, to) => {
      if (to === 'proposing') n.leave(C);
    });
    n.join(C);
    await n.until(() => g.counters.revokes > 0, 5000, 'revoke');
    await n.until(() => g.status === 'stable' || g.status === 'idle');
    await new Promise((r) => setTimeout(r, 100));
    expect(g.groupMembers.sort()).toEqual([A, B]);
    expect(decrypts(ps[0]!, ps[1]!)).toBe(true);
    // the group still moves on after the revoke
    const c2 = n.join(C);
    await settled(n, g, [...ps, c2], 3);
  });
});

describe('DaveServer bad input', () => {
  it('counts unknown ops, garbage key packages and replayed commits without throwing', async () => {
    const { n, g, ps } = await formed([A, B]);
    const s = n.server;
    expect(s.clientBinary(A, Buffer.from([]))).toBe(false);
    expect(s.clientBinary(A, Buffer.from([99, 1, 2]))).toBe(false);
    expect(s.clientBinary('999', encodeClientBinary(DaveOp.MlsKeyPackage, Buffer.from([0, 1])))).toBe(false);
    s.clientBinary(A, encodeClientBinary(DaveOp.MlsKeyPackage, Buffer.from([0, 1, 0, 2, 9, 9])));
    s.clientBinary(A, encodeClientBinary(DaveOp.MlsCommitWelcome, Buffer.from('not a commit')));
    expect(s.clientJson(A, DaveOp.TransitionReady, { transition_id: 'x' })).toBe(true);
    expect(s.clientJson(A, 5, {})).toBe(false);
    await s.idle();
    expect(s.counters.badMessages).toBeGreaterThanOrEqual(3);
    expect(s.counters.unknownUser).toBe(1);
    expect(g.counters.badKeyPackages).toBe(1);
    expect(g.counters.commitsLate + g.counters.commitsRejected).toBeGreaterThanOrEqual(1);
    expect(decrypts(ps[0]!, ps[1]!)).toBe(true);
  });
});
