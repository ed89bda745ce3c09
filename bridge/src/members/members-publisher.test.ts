import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PayloadOf } from '@promethean/shared';
import { VoiceMembersPublisher } from './members-publisher.ts';
import { MemberRoster, changeOf } from './roster.ts';
import type { VoiceMemberInfo, VoiceMemberSource } from './source.ts';

type Payload = PayloadOf<'voice.members'>;

function member(user_id: string, display_name: string, extra: Partial<VoiceMemberInfo> = {}): VoiceMemberInfo {
  return { user_id, display_name, avatar_url: `https://cdn.example/avatars/${user_id}/h.png?size=128`, bot: false, mute: false, deaf: false, self_mute: false, self_deaf: false, ...extra };
}

/** A member source driven by the test: `channels` is guild:channel → members; `change()` fires the event. */
class TestSource implements VoiceMemberSource {
  readonly channels = new Map<string, VoiceMemberInfo[]>();
  readonly listeners = new Set<(guildId: string, userId: string) => void>();
  members(guildId: string, channelId: string): VoiceMemberInfo[] {
    return this.channels.get(`${guildId}:${channelId}`) ?? [];
  }
  names() {
    return { guild_name: 'Guild', channel_name: 'Voice' };
  }
  onChange(listener: (guildId: string, userId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(guildId: string, channelId: string, members: VoiceMemberInfo[], userId = 'x'): void {
    this.channels.set(`${guildId}:${channelId}`, members);
    for (const l of this.listeners) l(guildId, userId);
  }
}

function setup(options: ConstructorParameters<typeof VoiceMembersPublisher>[2] = {}) {
  const source = new TestSource();
  const out: Payload[] = [];
  const publisher = new VoiceMembersPublisher(source, (p) => void out.push(p), options);
  return { source, out, publisher };
}

describe('VoiceMembersPublisher', () => {
  let close: (() => void) | undefined;
  afterEach(() => {
    close?.();
    vi.useRealTimers();
  });

  it('track() publishes an initial snapshot with names; joins, leaves and updates then name the user', () => {
    const { source, out, publisher } = setup();
    close = () => publisher.close();
    source.channels.set('g:c', [member('1', 'Alice')]);
    publisher.track({ sessionId: 's', guildId: 'g', channelId: 'c' });
    expect(out).toEqual([{ session_id: 's', guild_id: 'g', channel_id: 'c', guild_name: 'Guild', channel_name: 'Voice', members: [member('1', 'Alice')], change: { kind: 'snapshot' } }]);
    source.set('g', 'c', [member('1', 'Alice'), member('2', 'Bob')]);
    source.set('g', 'c', [member('1', 'Alice', { self_mute: true }), member('2', 'Bob')]);
    source.set('g', 'c', [member('1', 'Alice', { self_mute: true })]);
    expect(out.slice(1).map((p) => p.change)).toEqual([
      { kind: 'join', user_id: '2' },
      { kind: 'update', user_id: '1' },
      { kind: 'leave', user_id: '2' },
    ]);
    expect(out.at(-1)!.members).toEqual([member('1', 'Alice', { self_mute: true })]);
  });

  it('publishes nothing for a change elsewhere or one that changes no published field; a snapshot when several users changed at once', () => {
    const { source, out, publisher } = setup();
    close = () => publisher.close();
    source.channels.set('g:c', [member('1', 'Alice')]);
    publisher.track({ sessionId: 's', guildId: 'g', channelId: 'c' });
    source.set('g', 'other', [member('9', 'Zed')]);
    source.set('g2', 'c', [member('9', 'Zed')]);
    source.set('g', 'c', [member('1', 'Alice')]);
    expect(out).toHaveLength(1);
    source.set('g', 'c', [member('2', 'Bob'), member('3', 'Cy')]);
    expect(out.at(-1)!.change).toEqual({ kind: 'snapshot' });
  });

  it('sends a snapshot of every session every intervalMs (5 s by default) until untracked', () => {
    vi.useFakeTimers();
    const { source, out, publisher } = setup();
    close = () => publisher.close();
    expect(publisher.options.intervalMs).toBe(5000);
    source.channels.set('g:c', [member('1', 'Alice')]);
    source.channels.set('h:d', [member('2', 'Bob')]);
    publisher.track({ sessionId: 's1', guildId: 'g', channelId: 'c' });
    publisher.track({ sessionId: 's2', guildId: 'h', channelId: 'd' });
    out.length = 0;
    vi.advanceTimersByTime(4999);
    expect(out).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(out.map((p) => [p.session_id, p.change.kind])).toEqual([['s1', 'snapshot'], ['s2', 'snapshot']]);
    publisher.snapshot('s2');
    publisher.snapshot('nope');
    expect(out.map((p) => p.session_id)).toEqual(['s1', 's2', 's2']);
    out.pop();
    publisher.untrack('s1');
    vi.advanceTimersByTime(5000);
    expect(out.map((p) => p.session_id)).toEqual(['s1', 's2', 's2']);
    publisher.close();
    vi.advanceTimersByTime(10_000);
    source.set('h', 'd', []);
    expect(out).toHaveLength(3);
    expect(source.listeners.size).toBe(0);
  });

  it('lists members sorted by name, at most maxMembers, and refuses sessions over maxSessions', () => {
    const { source, out, publisher } = setup({ maxMembers: 2, maxSessions: 1 });
    close = () => publisher.close();
    source.channels.set('g:c', [member('3', 'carol'), member('1', 'Bob'), member('2', 'alice')]);
    publisher.track({ sessionId: 's', guildId: 'g', channelId: 'c' });
    expect(out[0]!.members.map((m) => m.display_name)).toEqual(['alice', 'Bob']);
    expect(publisher.counters.truncated).toBe(1);
    publisher.track({ sessionId: 't', guildId: 'g', channelId: 'c' });
    expect(publisher.tracked).toBe(1);
    expect(publisher.counters.refused).toBe(1);
  });

  it('a publish that throws is counted and reported, never thrown into the event source', () => {
    const source = new TestSource();
    const errors: unknown[] = [];
    const publisher = new VoiceMembersPublisher(source, () => {
      throw new Error('bus closed');
    });
    close = () => publisher.close();
    publisher.onError = (e) => void errors.push(e);
    publisher.track({ sessionId: 's', guildId: 'g', channelId: 'c' });
    expect(() => source.set('g', 'c', [member('1', 'A')])).not.toThrow();
    expect(publisher.counters.errors).toBe(2);
    expect(errors).toHaveLength(2);
  });
});

describe('MemberRoster / changeOf', () => {
  it('keeps the first of duplicate user ids and reports no change for an identical list', () => {
    const roster = new MemberRoster(10);
    const first = roster.update([member('1', 'A'), member('1', 'B')]);
    expect(first.list).toEqual([member('1', 'A')]);
    expect(changeOf(first)).toEqual({ kind: 'join', user_id: '1' });
    expect(changeOf(roster.update([member('1', 'A')]))).toBeUndefined();
    expect(roster.size).toBe(1);
  });
});
