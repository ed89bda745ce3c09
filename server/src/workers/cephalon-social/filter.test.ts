import { describe, expect, it } from 'vitest';
import { allowAllWatchRules, capLength, filterReply, tidyReply, type ReplyCandidate, type WatchRules } from './filter.ts';

const candidate = (text: string): ReplyCandidate => ({ provider: 'discord', tenant: 'demo', guildId: '1', channelId: '2', inReplyTo: '3', text });

describe('output filter', () => {
  it('tidyReply() drops the model speaking as the bot and cuts where it starts writing other speakers', () => {
    expect(tidyReply('you: The build is green.\nalice: thanks!\nbob: cool')).toBe('The build is green.');
    expect(tidyReply('  First line.\n\n\n\nSecond paragraph.  \n')).toBe('First line.\n\nSecond paragraph.');
    expect(tidyReply('Dana asks you: what?')).toBe('Dana asks you: what?');
    expect(tidyReply('Answer.\r\nDana asks you: more?')).toBe('Answer.');
    expect(tidyReply('   \n  ')).toBe('');
  });

  it('capLength() keeps at most max characters (code points), cutting at a word when one is near', () => {
    expect(capLength('short', 10)).toEqual({ text: 'short', capped: false });
    const long = capLength('the quick brown fox jumps over the lazy dog', 20);
    expect(long).toEqual({ text: 'the quick brown fox…', capped: true });
    expect([...capLength('x'.repeat(50), 16).text]).toHaveLength(16);
    const emoji = capLength('🙂'.repeat(30), 16);
    expect([...emoji.text]).toHaveLength(16);
    expect(emoji.text.endsWith('🙂…')).toBe(true);
  });

  it('filterReply() passes a tidy, capped text to the watch rules and posts what they allow', async () => {
    const seen: string[] = [];
    const watch: WatchRules = (r) => {
      seen.push(r.text);
      return { allow: true };
    };
    const r = await filterReply(candidate('you: ' + 'word '.repeat(100)), 40, watch);
    expect(r).toMatchObject({ ok: true, capped: true });
    expect(r.ok && [...r.text].length).toBeLessThanOrEqual(40);
    expect(seen).toEqual([r.ok ? r.text : '']);
  });

  it('a blocking watch rule stops the reply and names the rule; a rewrite is capped again', async () => {
    expect(await filterReply(candidate('bad words'), 100, () => ({ allow: false, rule: 'no-bad-words' }))).toEqual({ ok: false, reason: 'blocked', rule: 'no-bad-words' });
    const rewritten = await filterReply(candidate('fine'), 16, async () => ({ allow: true, text: 'a much longer replacement text' }));
    expect(rewritten).toEqual({ ok: true, text: 'a much longer…', capped: true });
    expect(await filterReply(candidate('fine'), 16, () => ({ allow: true, text: '   ' }))).toEqual({ ok: false, reason: 'empty' });
  });

  it('an empty model answer is never posted', async () => {
    expect(await filterReply(candidate('\n\n  '), 100, allowAllWatchRules)).toEqual({ ok: false, reason: 'empty' });
    expect(await filterReply(candidate('alice:\nbob: hi'), 100, allowAllWatchRules)).toEqual({ ok: true, text: 'alice:', capped: false });
  });
});
