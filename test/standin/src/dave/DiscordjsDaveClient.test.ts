import { afterEach, describe, expect, it } from 'vitest';
import { DaveServer } from './DaveServer.ts';
import { DaveLoopback } from './loopback.ts';
import { DiscordjsDaveClient } from './DiscordjsDaveClient.ts';
import { DaveOp, OPUS_SILENCE } from './opcodes.ts';
import { opusTone } from './testOpus.ts';
import type { DaveGroup } from './DaveGroup.ts';

const CHANNEL = '1234567890123456789';
const [A, B, C] = ['300000000000000001', '300000000000000002', '300000000000000003'] as const;

let net: DaveLoopback<DiscordjsDaveClient> | undefined;
let server: DaveServer | undefined;
afterEach(() => {
  net?.close();
  server?.close();
});

async function setup(options: Parameters<typeof DaveServer.create>[0] = {}): Promise<{ n: DaveLoopback<DiscordjsDaveClient>; g: DaveGroup }> {
  server = await DaveServer.create({ enabled: true, readyTimeoutMs: 400, ...options });
  net = new DaveLoopback(server, CHANNEL, (u, c, t) => new DiscordjsDaveClient(u, c, t));
  return { n: net, g: server.group(CHANNEL) };
}

async function settled(n: DaveLoopback<DiscordjsDaveClient>, g: DaveGroup, size: number): Promise<void> {
  await n.until(
    () => g.status === 'stable' && g.groupMembers.length === size && [...n.participants.values()].every((p) => p.ready && p.epoch === g.epoch),
    8000,
    `group of ${size}`,
  );
}

/** Fraction of `frames` that `receiver` gets back intact through the library's own decrypt(). */
function delivered(sender: DiscordjsDaveClient, receiver: DiscordjsDaveClient, frames: Buffer[]): number {
  let ok = 0;
  for (const f of frames) if (receiver.decrypt(sender.encrypt(f), sender.userId)?.equals(f)) ok++;
  return ok / frames.length;
}

describe('@discordjs/voice DAVESession (unmodified) against DaveGroup', () => {
  it('forms a group, adds a third member and removes one; the library encrypts and decrypts end to end', async () => {
    const { n, g } = await setup();
    const a = n.join(A);
    const b = n.join(B);
    await settled(n, g, 2);
    const frames = opusTone(440, 10);
    expect(a.encrypt(frames[0]!).equals(frames[0]!)).toBe(false);
    expect(a.encrypt(OPUS_SILENCE).equals(OPUS_SILENCE)).toBe(true);
    expect(delivered(a, b, frames)).toBe(1);
    const c = n.join(C);
    await settled(n, g, 3);
    expect(g.epoch).toBe(2n);
    expect(delivered(c, a, frames)).toBe(1);
    expect(delivered(b, c, frames)).toBe(1);
    n.leave(B);
    await settled(n, g, 2);
    expect(g.epoch).toBe(3n);
    expect(delivered(a, c, frames)).toBe(1);
    expect(n.takeErrors()).toEqual([]);
    expect(n.log.filter((l) => l.dir === 'C>S' && l.op === DaveOp.TransitionReady).length).toBeGreaterThanOrEqual(5);
  });

  it('with transition id 0 the library applies commits at once and never sends op 23', async () => {
    const { n, g } = await setup();
    g.faults.zeroTransitionId = true;
    n.join(A);
    n.join(B);
    await settled(n, g, 2);
    expect(n.log.filter((l) => l.op === DaveOp.TransitionReady)).toHaveLength(0);
    const [a, b] = [n.participants.get(A)!, n.participants.get(B)!];
    expect(delivered(a, b, opusTone(300, 3))).toBe(1);
  });

  it('a corrupted commit: the library sends op 31, re-initialises, and is re-added', async () => {
    const { n, g } = await setup();
    n.join(A);
    n.join(B);
    await settled(n, g, 2);
    g.faults.corruptCommitFor = B;
    n.join(C);
    await n.until(() => g.counters.invalidReports >= 1, 5000, 'op 31');
    await settled(n, g, 3);
    const [a, b, c] = [A, B, C].map((u) => n.participants.get(u)!);
    expect(delivered(a!, b!, opusTone(300, 3))).toBe(1);
    expect(delivered(b!, c!, opusTone(300, 3))).toBe(1);
  });

  it('a dropped commit: the lagging library session drops frames (decrypt() returns null) until it recovers', async () => {
    const { n, g } = await setup({ readyTimeoutMs: 200 });
    n.join(A);
    n.join(B);
    await settled(n, g, 2);
    g.faults.dropCommitFor = B;
    n.join(C);
    await n.until(() => g.epoch === 2n && g.status === 'stable');
    await n.until(() => n.participants.get(A)!.epoch === 2n);
    const [a, b] = [n.participants.get(A)!, n.participants.get(B)!];
    expect(b.epoch).toBe(1n);
    const frames = opusTone(300, 50);
    const got = delivered(a, b, frames);
    // The library tolerates 36 consecutive failures, then sends op 31 and re-initialises.
    expect(got).toBe(0);
    await n.until(() => g.counters.invalidReports >= 1, 5000, 'library recovery op 31');
    await settled(n, g, 3);
    expect(delivered(a, b, frames.slice(0, 5))).toBe(1);
  });

  it('library flaw: with transition id 0 and a missed commit, decrypt() throws after 36 failures instead of recovering', async () => {
    const { n, g } = await setup({ readyTimeoutMs: 200 });
    g.faults.zeroTransitionId = true;
    n.join(A);
    n.join(B);
    await settled(n, g, 2);
    g.faults.dropCommitFor = B;
    n.join(C);
    await n.until(() => g.epoch === 2n && g.status === 'stable' && n.participants.get(A)!.epoch === 2n);
    const [a, b] = [n.participants.get(A)!, n.participants.get(B)!];
    let nulls = 0;
    let thrown: unknown;
    for (const f of opusTone(300, 50)) {
      try {
        if (b.decrypt(a.encrypt(f), A) === null) nulls++;
      } catch (error) {
        thrown = error;
        break;
      }
    }
    expect(nulls).toBe(36);
    expect(thrown).toBeInstanceOf(Error);
    expect(g.counters.invalidReports).toBe(0);
  });

  it('op 21 downgrades the library to transport-only and op 24 epoch 1 upgrades it into a new group', async () => {
    const { n, g } = await setup();
    n.join(A);
    n.join(B);
    await settled(n, g, 2);
    const [a, b] = [n.participants.get(A)!, n.participants.get(B)!];
    const frame = opusTone(300, 1)[0]!;
    g.downgrade();
    await n.until(() => g.protocolVersion === 0 && g.status === 'stable', 5000, 'downgrade executed');
    await n.until(() => a.dave.protocolVersion === 0 && b.dave.protocolVersion === 0);
    expect(a.encrypt(frame).equals(frame)).toBe(true);
    expect(b.decrypt(frame, A)?.equals(frame)).toBe(true);
    g.restart(1);
    await settled(n, g, 2);
    expect(g.epoch).toBe(1n);
    expect(a.encrypt(frame).equals(frame)).toBe(false);
    expect(b.decrypt(a.encrypt(frame), A)?.equals(frame)).toBe(true);
  });
});
