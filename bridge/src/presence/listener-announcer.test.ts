import { afterEach, describe, expect, it, vi } from 'vitest';
import { ListenerAnnouncer, type ListenerAnnouncerOptions } from './listener-announcer.ts';

function setup(options: Partial<ListenerAnnouncerOptions> = {}) {
  const shown: (string | null)[] = [];
  const announcer = new ListenerAnnouncer({ setActivity: (t) => void shown.push(t) }, { minIntervalMs: 0, ...options });
  const count = (session_id: string, count: number, guild_id = 'g1') => announcer.setCount({ session_id, guild_id, channel_id: 'c', count });
  return { announcer, shown, count };
}

describe('ListenerAnnouncer', () => {
  afterEach(() => vi.useRealTimers());

  it('shows "Relaying to N moderators" for the open sessions (singular for 1), and clears it at 0', () => {
    const { announcer, shown, count } = setup();
    announcer.sessionOpened('s1', 'g1');
    count('s1', 2);
    count('s1', 1);
    count('s1', 0);
    expect(shown).toEqual(['Relaying to 2 moderators', 'Relaying to 1 moderator', null]);
    expect(announcer.shown).toBeNull();
  });

  it('sums the sessions of announcing guilds only, keeps a count while its session is closed, and sends nothing when the text stays the same', () => {
    const { announcer, shown, count } = setup({ announces: (g) => g !== 'quiet' });
    announcer.sessionOpened('s1', 'g1');
    announcer.sessionOpened('s2', 'quiet');
    expect(count('s2', 5, 'quiet')).toBe(false);
    expect(announcer.counters.notAnnounced).toBe(1);
    expect(shown).toEqual([]);
    count('s3', 4); // no such session here (yet)
    expect(shown).toEqual([]);
    count('s1', 1);
    announcer.sessionOpened('s3', 'g1');
    expect(announcer.total()).toBe(5);
    announcer.sessionClosed('s3');
    announcer.sessionClosed('s3');
    count('s1', 1);
    expect(shown).toEqual(['Relaying to 1 moderator', 'Relaying to 5 moderators', 'Relaying to 1 moderator']);
  });

  it('sends at most one update per minIntervalMs, and the latest state when the interval ends', () => {
    vi.useFakeTimers();
    const { announcer, shown, count } = setup({ minIntervalMs: 1000 });
    announcer.sessionOpened('s1', 'g1');
    count('s1', 1);
    count('s1', 2);
    count('s1', 3);
    expect(shown).toEqual(['Relaying to 1 moderator']);
    vi.advanceTimersByTime(999);
    expect(shown).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(shown).toEqual(['Relaying to 1 moderator', 'Relaying to 3 moderators']);
    count('s1', 0);
    vi.advanceTimersByTime(1000);
    expect(shown.at(-1)).toBeNull();
    announcer.close();
  });

  it('forgets the oldest counts beyond maxSessions', () => {
    const { announcer, count } = setup({ maxSessions: 2 });
    count('a', 1);
    count('b', 1);
    count('c', 1);
    for (const s of ['a', 'b', 'c']) announcer.sessionOpened(s, 'g1');
    expect(announcer.total()).toBe(2);
  });
});
