/**
 * The prompt for one reply: the system prompt, then one user turn holding related stored messages
 * (recall), the recent thread (oldest first) and the message that mentioned the bot. Bounded: each
 * line is cut to `maxLineChars`, and thread and recall together fit in `maxPromptChars`, the
 * newest thread lines kept first. The mention itself is always in.
 */
import type { ChatMessage } from '../../speech/types.ts';

/** One message as the prompt shows it. */
export interface ThreadLine {
  /** Provider message id (to drop duplicates between thread and recall). */
  id: string;
  author: string;
  /** Written by the bot itself (shown as "you"). */
  fromBot: boolean;
  text: string;
}

export interface PromptInput {
  systemPrompt: string;
  /** The thread before the mention, oldest first. */
  history: readonly ThreadLine[];
  /** Stored messages nearest to the mention, nearest first. */
  recalled: readonly ThreadLine[];
  mention: ThreadLine;
  /** Characters of thread and recall together. */
  maxPromptChars: number;
  /** Characters of one message. */
  maxLineChars: number;
}

export const defaultMaxLineChars = 500;

function cut(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, Math.max(0, max - 1))}…`;
}

function line(l: ThreadLine, max: number): string {
  return `${l.fromBot ? 'you' : cut(l.author, 64)}: ${cut(l.text, max)}`;
}

/** The chat messages sent to the LLM. */
export function buildPrompt(input: PromptInput): ChatMessage[] {
  const max = input.maxLineChars;
  const inThread = new Set([...input.history.map((l) => l.id), input.mention.id]);
  let budget = input.maxPromptChars;
  const take = (lines: readonly ThreadLine[], share: number): string[] => {
    const out: string[] = [];
    let left = Math.min(budget, share);
    for (const l of lines) {
      if (l.text.trim().length === 0) continue;
      const s = line(l, max);
      if (s.length + 1 > left) break;
      out.push(s);
      left -= s.length + 1;
      budget -= s.length + 1;
    }
    return out;
  };
  // A third of the budget is kept for recall when there is any; the thread takes the rest (newest
  // lines first), and recall gets what the thread left.
  const recall = input.recalled.filter((l) => !inThread.has(l.id));
  const recallShare = recall.length > 0 ? Math.floor(input.maxPromptChars / 3) : 0;
  const thread = take([...input.history].reverse(), input.maxPromptChars - recallShare).reverse();
  const recalled = take(recall, budget);
  const parts: string[] = [];
  if (recalled.length > 0) parts.push('Earlier messages that may be related:', ...recalled.map((s) => `- ${s}`), '');
  if (thread.length > 0) parts.push('Conversation so far:', ...thread, '');
  parts.push(`${cut(input.mention.author, 64)} asks you: ${cut(input.mention.text, max) || '(no text)'}`);
  return [
    { role: 'system', content: input.systemPrompt },
    { role: 'user', content: parts.join('\n') },
  ];
}
