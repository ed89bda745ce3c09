import { describe, expect, it } from 'vitest';
import { buildPrompt, type ThreadLine } from './prompt.ts';

const l = (id: string, author: string, text: string, fromBot = false): ThreadLine => ({ id, author, text, fromBot });
const base = { systemPrompt: 'Be brief.', maxPromptChars: 4000, maxLineChars: 500 };

describe('buildPrompt()', () => {
  it('is the system prompt, then recall, the thread oldest first (the bot as "you") and the mention', () => {
    const messages = buildPrompt({
      ...base,
      history: [l('1', 'Alice', 'the build broke'), l('2', 'bot', 'which job?', true), l('3', 'Alice', 'the nightly')],
      recalled: [l('9', 'Bob', 'nightly builds run at 2am'), l('3', 'Alice', 'the nightly')],
      mention: l('4', 'Dana', 'when does it run?'),
    });
    expect(messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          'Earlier messages that may be related:',
          '- Bob: nightly builds run at 2am',
          '',
          'Conversation so far:',
          'Alice: the build broke',
          'you: which job?',
          'Alice: the nightly',
          '',
          'Dana asks you: when does it run?',
        ].join('\n'),
      },
    ]);
  });

  it('keeps the newest thread lines within the budget, cuts long lines, skips empty ones', () => {
    const history = Array.from({ length: 200 }, (_, i) => l(String(i), 'A', `message number ${i}`));
    history.push(l('x', 'A', 'y'.repeat(2000)), l('e', 'A', '   '));
    const [, user] = buildPrompt({ ...base, maxPromptChars: 600, maxLineChars: 100, history, recalled: [], mention: l('m', 'D', 'q') });
    const lines = user!.content.split('\n');
    expect(lines.at(-3)).toBe(`A: ${'y'.repeat(99)}…`);
    expect(lines).toContain('A: message number 199');
    expect(lines).not.toContain('A: message number 0');
    expect(user!.content.length).toBeLessThan(600 + 100);
    const kept = lines.filter((s) => s.startsWith('A: message number ')).map((s) => Number(s.slice(18)));
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
  });

  it('leaves a third of the budget to recall when there is any', () => {
    const history = Array.from({ length: 100 }, (_, i) => l(String(i), 'A', 'x'.repeat(40)));
    const recalled = Array.from({ length: 10 }, (_, i) => l(`r${i}`, 'B', 'z'.repeat(40)));
    const [, user] = buildPrompt({ ...base, maxPromptChars: 900, history, recalled, mention: l('m', 'D', 'q') });
    const recall = user!.content.split('\n').filter((s) => s.startsWith('- B: '));
    expect(recall.length).toBeGreaterThanOrEqual(6);
    expect(user!.content.length).toBeLessThan(900 + 200);
  });

  it('always has the mention, even with no budget left and no text', () => {
    const [, user] = buildPrompt({ ...base, maxPromptChars: 200, history: [l('1', 'A', 'x'.repeat(400))], recalled: [], mention: l('m', 'Dana', '') });
    expect(user!.content).toBe('Dana asks you: (no text)');
  });
});
