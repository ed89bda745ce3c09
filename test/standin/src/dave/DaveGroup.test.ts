import { afterEach, describe, expect, it } from 'vitest';
import { decodeExternalSender } from 'ts-mls';
import { DaveServer } from './DaveServer.ts';
import { DaveLoopback } from './loopback.ts';
import { OPUS_SILENCE } from './opcodes.ts';
import { opusTone } from './testOpus.ts';
import type { DaveParticipant } from './DaveParticipant.ts';

const CHANNEL = '1234567890123456789';
const A = '100000000000000001';
const B = '100000000000000002';
const C = '100000000000000003';
const D = '100000000000000004';

let net: DaveLoopback | undefined;
let server: DaveServer | undefined;
afterEach(() => {
  net?.close();
  server?.close();
});

async function setup(options: Parameters<typeof DaveServer.create>[0] = {}): Promise<DaveLoopback> {
  server = await DaveServer.create({ enabled: true, readyTimeoutMs: 500, ...options });
  net = new DaveLoopback(server, CHANNEL);
  return net;
}

const epochOf = (p: DaveParticipant): number => Number(p.epoch ?? -1);

/** The server's leaf bookkeeping agrees with each member's own view (davey's ownLeafIndex). */
function expectLeavesMatch(members: DaveParticipant[]): void {
  const g = server!.group(CHANNEL);
  for (const p of members) expect(g.leaves.leafOf(p.userId)).toBe(p.session.ownLeafIndex);
}

/** Every pair of `members` exchanges frames: what the receiver decrypts equals what the sender encoded. */
function expectMutualDecrypt(members: DaveParticipant[], frames: Buffer[]): void {
  for (const sender of members) {
    for (const frame of frames) {
      const wire = sender.encryptOpus(frame);
      expect(wire.equals(frame)).toBe(false);
      expect(wire.subarray(-2).toString('hex')).toBe('fafa');
      for (const receiver of members) {
        if (receiver === sender) continue;
        expect(receiver.decryptOpus(sender.userId, wire)?.equals(frame)).toBe(true);
      }
    }
  }
}

describe('DaveServer external sender', () => {
  it('op 25 payload is the 74-byte ExternalSender with an uncompressed P-256 key that ts-mls decodes', async () => {
    const s = await DaveServer.create({ enabled: true });
    server = s;
    expect(s.sender.payload.length).toBe(74);
    expect(s.sender.payload.subarray(0, 3).toString('hex')).toBe('404104');
    const decoded = decodeExternalSender(s.sender.payload, 0);
    const es = decoded?.[0];
    expect(es?.credential.credentialType).toBe('basic');
    expect(es?.credential.credentialType === 'basic' && Buffer.from(es.credential.identity).toString('hex')).toBe('00010100');
    expect(Buffer.from(es?.signaturePublicKey ?? []).equals(Buffer.from(s.sender.publicKey))).toBe(true);
    expect(s.sender.publicKey.length).toBe(65);
  });

  it('negotiate() gives 1 only when --dave is on and the client offers >= 1', async () => {
    const on = await DaveServer.create({ enabled: true });
    const off = await DaveServer.create({ enabled: false });
    expect([on.negotiate(1), on.negotiate(0), on.negotiate(undefined), on.negotiate('1'), on.negotiate(7)]).toEqual([1, 0, 0, 0, 1]);
    expect(off.negotiate(1)).toBe(0);
    on.close();
    off.close();
  });
});

describe('DaveGroup with davey sessions in process', () => {
  it('two members form epoch 1 from ops 25/26/27/28/29/30 and decrypt each other', async () => {
    const n = await setup();
    const a = n.join(A);
    const b = n.join(B);
    await n.until(() => epochOf(a) === 1 && epochOf(b) === 1 && server!.group(CHANNEL).status === 'stable', 5000, 'epoch 1');
    const ops = new Set(n.log.map((l) => `${l.dir}${l.op}`));
    for (const op of ['S>C25', 'C>S26', 'S>C27', 'C>S28', 'S>C29', 'S>C30', 'C>S23', 'S>C22']) expect(ops).toContain(op);
    expect(server!.group(CHANNEL).epoch).toBe(1n);
    expect(server!.group(CHANNEL).leaves.entries().map(([leaf]) => leaf)).toEqual([0, 1]);
    // both pending members commit; the first valid one wins, the other is late or stale
    const c = server!.group(CHANNEL).counters;
    await n.until(() => c.commitsAccepted + c.commitsLate + c.commitsRejected === 2, 2000, 'second commit');
    expect(c.commitsAccepted).toBe(1);
    expectMutualDecrypt([a, b], opusTone(440, 5));
    expect(n.takeErrors()).toEqual([]);
  });

  it('a third member raises the epoch to 2, takes leaf 2, and all three decrypt each other', async () => {
    const n = await setup();
    const a = n.join(A);
    const b = n.join(B);
    await n.until(() => epochOf(a) === 1 && epochOf(b) === 1 && server!.group(CHANNEL).status === 'stable');
    const c = n.join(C);
    await n.until(() => [a, b, c].every((p) => epochOf(p) === 2) && server!.group(CHANNEL).status === 'stable', 5000, 'epoch 2');
    expect(server!.group(CHANNEL).leaves.leafOf(C)).toBe(2);
    expectLeavesMatch([a, b, c]);
    expect(new Set(c.session.getUserIds())).toEqual(new Set([A, B, C]));
    expectMutualDecrypt([a, b, c], opusTone(330, 3));
    expect(server!.group(CHANNEL).counters.commitsAccepted).toBe(2);
  });

  it('a leave sends Removes to every member, raises the epoch, and the next joiner takes the freed leaf', async () => {
    const n = await setup();
    const a = n.join(A);
    const b = n.join(B);
    const c = n.join(C);
    const g = server!.group(CHANNEL);
    await n.until(() => [a, b, c].every((p) => p.ready && epochOf(p) === Number(g.epoch)) && g.status === 'stable' && g.groupMembers.length === 3);
    const before = g.epoch;
    const leafB = g.leaves.leafOf(B);
    n.leave(B);
    await n.until(() => g.epoch === before + 1n && g.status === 'stable' && [a, c].every((p) => epochOf(p) === Number(g.epoch)));
    expect(new Set(a.session.getUserIds())).toEqual(new Set([A, C]));
    expectMutualDecrypt([a, c], opusTone(550, 2));
    const d = n.join(D);
    await n.until(() => g.epoch === before + 2n && g.status === 'stable' && [a, c, d].every((p) => epochOf(p) === Number(g.epoch)));
    expect(g.leaves.leafOf(D)).toBe(leafB);
    expectLeavesMatch([a, c, d]);
    expectMutualDecrypt([a, c, d], opusTone(660, 2));
  });

  it('the silence frame F8 FF FE is never end-to-end encrypted', async () => {
    const n = await setup();
    const a = n.join(A);
    const b = n.join(B);
    await n.until(() => a.ready && b.ready);
    expect(a.encryptOpus(OPUS_SILENCE).equals(OPUS_SILENCE)).toBe(true);
    expect(b.decryptOpus(A, OPUS_SILENCE)?.equals(OPUS_SILENCE)).toBe(true);
  });
});
