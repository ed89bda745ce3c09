import { describe, expect, it } from 'vitest';
import { SendLog, type SendLogEntry } from './sendlog.ts';

function entry(sequence: number): SendLogEntry {
  return { name: 'a', userId: 'u', ssrc: 1, sequence, timestamp: sequence * 960, silence: false, marker: false, dueAt: sequence * 20, delayMs: 0, sentAt: sequence * 20, dropped: false, reason: undefined, recipients: 1, opus: new Uint8Array(3) };
}

describe('SendLog.since()', () => {
  it('hands a follower only what is new, in order, and says what the trimming took before it read it', () => {
    const log = new SendLog(100);
    for (let i = 0; i < 30; i++) log.add(entry(i));
    const first = log.since(0);
    expect(first.entries.map((e) => e.sequence)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(first).toMatchObject({ next: 30, missed: 0 });
    for (let i = 30; i < 40; i++) log.add(entry(i));
    const second = log.since(first.next);
    expect(second.entries.map((e) => e.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => 30 + i));
    expect(log.since(second.next).entries).toEqual([]);
    // the log keeps about 100: a follower that waited too long misses the oldest, and is told
    for (let i = 40; i < 200; i++) log.add(entry(i));
    const late = log.since(second.next);
    expect(late.missed).toBe(late.entries[0]!.sequence - 40);
    expect(late.missed).toBeGreaterThan(0);
    expect(late.entries.at(-1)!.sequence).toBe(199);
    expect(late.next).toBe(200);
    expect(log.added).toBe(200);
  });
});
