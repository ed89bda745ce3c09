import { describe, expect, it } from 'vitest';
import { IDLE } from '../media/listener-machine.ts';
import { audioLabel, initials, meterPercent, moderatorsListening, safeImageUrl, sessionStatusLabel } from './format.ts';

describe('format', () => {
  it('initials from one or two words, emoji kept whole, never empty', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('zed')).toBe('ZE');
    expect(initials('  mod_team.bot ')).toBe('MT');
    expect(initials('🦊 fox')).toBe('🦊F');
    expect(initials('   ')).toBe('?');
  });

  it('counts moderators in words', () => {
    expect([0, 1, 2, 12].map(moderatorsListening)).toEqual(['No moderators listening', '1 moderator listening', '2 moderators listening', '12 moderators listening']);
  });

  it('names statuses for people, stale first', () => {
    expect(sessionStatusLabel('connected', false)).toBe('live');
    expect(sessionStatusLabel('connected', true)).toBe('no updates');
    expect(sessionStatusLabel('dave_required', false)).toBe('needs DAVE');
    expect(audioLabel(IDLE)).toBe('off');
    expect(audioLabel({ status: 'negotiating', session_id: 'v', attempt: 2 })).toBe('reconnecting…');
  });

  it('keeps only http(s) and inline image avatars', () => {
    expect(safeImageUrl('https://cdn.discordapp.com/avatars/1/a.png')).toBe('https://cdn.discordapp.com/avatars/1/a.png');
    expect(safeImageUrl('/avatars/1.png')).toBe('/avatars/1.png');
    expect(safeImageUrl('data:image/png;base64,AAAA')).toBe('data:image/png;base64,AAAA');
    expect(safeImageUrl('javascript:alert(1)')).toBeNull();
    expect(safeImageUrl('data:text/html,<b>')).toBeNull();
    expect(safeImageUrl(null)).toBeNull();
  });

  it('maps −60..0 dBFS onto the meter', () => {
    expect([-100, -60, -30, 0, 6].map(meterPercent)).toEqual([0, 0, 50, 100, 100]);
  });
});
