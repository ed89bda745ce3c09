/**
 * DaveGuard around the library's real DAVESession (@discordjs/voice's exported class over a davey
 * session), with a hand-moved clock. Frames that the voice path carries end to end are checked in
 * bridge/src/integration/dave-faults.test.ts; here the bounded passthrough window and the recovery rule.
 */
import { DAVESession } from '@discordjs/voice';
import { describe, expect, it } from 'vitest';
import { DaveGuard, hasDaveTrailer, isOpusSilence } from './dave-guard.ts';

const ME = '100000000000000001';
const ALICE = '100000000000000002';
const CHANNEL = '200000000000000001';

/** A session as the library makes one on Session Description with DAVE v1: initialised, in no group yet. */
function librarySession(): { dave: DAVESession; keyPackages: number; invalidated: number[] } {
  const dave = new DAVESession(1, ME, CHANNEL, {});
  const out = { dave, keyPackages: 0, invalidated: [] as number[] };
  dave.on('keyPackage', () => out.keyPackages++);
  dave.on('invalidateTransition', (id) => out.invalidated.push(id));
  dave.reinit();
  return out;
}

const opus = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0x7f);
/** An Opus body followed by a DAVE trailer: 8-byte tag, nonce 0x05, no ranges, size 12, FA FA. */
function encrypted(n: number): Uint8Array {
  const body = opus(n);
  return Uint8Array.from([...body, 1, 2, 3, 4, 5, 6, 7, 8, 0x05, 12, 0xfa, 0xfa]);
}

describe('DaveGuard', () => {
  it('hasDaveTrailer() wants FA FA after a plausible supplemental size; isOpusSilence() only F8 FF FE', () => {
    expect(hasDaveTrailer(encrypted(40))).toBe(true);
    expect(hasDaveTrailer(opus(40))).toBe(false);
    expect(hasDaveTrailer(Uint8Array.of(1, 2, 200, 0xfa, 0xfa))).toBe(false); // size beyond the frame
    expect(hasDaveTrailer(Uint8Array.of(1, 2, 3, 0xfa, 0xfa))).toBe(false); // size below tag + nonce + marker
    expect(isOpusSilence(Uint8Array.of(0xf8, 0xff, 0xfe))).toBe(true);
    expect(isOpusSilence(Uint8Array.of(0xf8, 0xff, 0xfe, 0))).toBe(false);
  });

  it('passes unencrypted frames within the window after binding, then drops and counts them; a member change reopens it for that member', () => {
    let now = 1000;
    const { dave } = librarySession();
    const guard = new DaveGuard(() => now, { passthroughWindowMs: 10_000 });
    guard.bind(dave, undefined);
    const plain = opus(50);
    expect(guard.decrypt(ALICE, plain)).toBe(plain);
    now += 10_001;
    expect(guard.decrypt(ALICE, plain)).toBeNull();
    expect(guard.counters).toMatchObject({ passthroughFrames: 1, unencryptedRejected: 1 });
    guard.memberChanged(ALICE);
    expect(guard.decrypt(ALICE, plain)).toBe(plain);
    expect(guard.decrypt('100000000000000003', plain)).toBeNull(); // someone else's window is closed
    const silence = Uint8Array.of(0xf8, 0xff, 0xfe);
    expect(guard.decrypt('100000000000000003', silence)).toBe(silence); // never encrypted, never counted
    expect(guard.counters).toMatchObject({ passthroughFrames: 2, unencryptedRejected: 2 });
    expect(guard.health()).toMatchObject({ protocol_version: 1, epoch: null, passthrough_frames: 2, decrypt_failures: 0 });
  });

  it('counts an encrypted frame the library hands back undecrypted as a failure, never as Opus', () => {
    const { dave } = librarySession();
    const guard = new DaveGuard(() => 0);
    guard.bind(dave, undefined);
    expect(guard.decrypt(ALICE, encrypted(60))).toBeNull();
    expect(guard.counters.decryptFailures).toBe(1);
  });

  it('with no group, encrypted frames it cannot read for notReadyRecoveryMs make it recover once: op 31 and a new key package through the library', () => {
    let now = 0;
    const s = librarySession();
    const guard = new DaveGuard(() => now, { notReadyRecoveryMs: 3000, recoveryCooldownMs: 3000, confirmMs: 0 });
    guard.bind(s.dave, undefined);
    const packages0 = s.keyPackages;
    for (; now < 3000; now += 20) guard.decrypt(ALICE, encrypted(60));
    expect(s.invalidated).toEqual([]);
    guard.decrypt(ALICE, encrypted(60));
    expect(s.invalidated).toEqual([0]);
    expect(s.keyPackages).toBe(packages0 + 1);
    expect(s.dave.reinitializing).toBe(true);
    expect(guard.counters).toMatchObject({ recoveries: 1, invalidCommits: 1 });
    expect(guard.recoveryLog.at(-1)).toMatchObject({ reason: 'no-group', transitionId: 0 });
    // the library is re-initialising: no second op 31 while it is
    for (now += 20; now < 10_000; now += 20) guard.decrypt(ALICE, encrypted(60));
    expect(s.invalidated).toEqual([0]);
    expect(guard.counters.recoveries).toBe(1);
  });

  it('waits confirmMs before recovering and does not when a success ends the run meanwhile', async () => {
    let now = 0;
    const s = librarySession();
    const guard = new DaveGuard(() => now, { notReadyRecoveryMs: 100, confirmMs: 30 });
    guard.bind(s.dave, undefined);
    for (; now <= 120; now += 20) guard.decrypt(ALICE, encrypted(60));
    expect(s.invalidated).toEqual([]);
    guard.onTransitioned(); // the commit was waiting on the WebSocket: the run is over
    await new Promise((r) => setTimeout(r, 60));
    expect(s.invalidated).toEqual([]);
    for (now += 20; now <= 400; now += 20) guard.decrypt(ALICE, encrypted(60));
    await new Promise((r) => setTimeout(r, 60));
    expect(s.invalidated).toEqual([0]);
    guard.close();
  });

  it('at protocol version 0 (transport only) passes unencrypted frames untouched and uncounted, and shows no dave block if DAVE never ran', () => {
    const dave = new DAVESession(0, ME, CHANNEL, {});
    dave.reinit();
    const guard = new DaveGuard(() => 1e9);
    guard.bind(dave, undefined);
    const plain = opus(30);
    expect(guard.decrypt(ALICE, plain)).toBe(plain);
    expect(guard.counters.passthroughFrames).toBe(0);
    expect(guard.health()).toBeUndefined();
  });
});

describe('isDaveLibraryError', () => {
  // the stack of an error @discordjs/voice 0.19.2 let escape from its WebSocket handler (seen in `promethean bench dave`)
  const escaped = `Error: Failed to process proposals: MessageProcessingFailed(ValidationError(WrongEpoch))
    at DAVESession.processProposals (/work/main/node_modules/@discordjs/voice/dist/index.mjs:813:46)
    at Networking.onWsBinary (/work/main/node_modules/@discordjs/voice/dist/index.mjs:1573:41)
    at VoiceWebSocket.emit (node:events:514:28)
    at VoiceWebSocket.onMessage (/work/main/node_modules/@discordjs/voice/dist/index.mjs:1135:12)`;

  it('recognises an error thrown by the library’s DAVESession inside its Networking handler, and nothing else', async () => {
    const { isDaveLibraryError } = await import('./dave-errors.ts');
    expect(isDaveLibraryError(Object.assign(new Error('x'), { stack: escaped }))).toBe(true);
    // the same session method called directly (not from the WebSocket handler): the caller's to catch
    const { dave } = librarySession();
    let direct: unknown;
    try {
      dave.processProposals(Buffer.from([0, 1, 2, 3]), new Set());
    } catch (error) {
      direct = error;
    }
    expect(direct).toBeInstanceOf(Error);
    expect(isDaveLibraryError(direct)).toBe(false);
    expect(isDaveLibraryError(new Error('anything else'))).toBe(false);
    expect(isDaveLibraryError('not an error')).toBe(false);
  });
});
