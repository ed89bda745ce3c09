/**
 * The output filter every reply passes before it is posted: tidy the model's text (a base model
 * tends to go on writing the conversation as other speakers), cap its length, then ask the guild's
 * watch rules. Watch rules are injected (`WatchRules`), so the moderation engine built elsewhere
 * plugs in without this worker knowing it; the default allows everything.
 */

/** A reply about to be posted. */
export interface ReplyCandidate {
  provider: string;
  tenant: string;
  guildId: string;
  channelId: string;
  /** The message replied to. */
  inReplyTo: string;
  text: string;
}

/** A watch rule's answer: allow (optionally with a rewritten text) or block, naming the rule. */
export type WatchVerdict = { allow: true; text?: string } | { allow: false; rule: string };

export type WatchRules = (reply: ReplyCandidate) => WatchVerdict | Promise<WatchVerdict>;

export const allowAllWatchRules: WatchRules = () => ({ allow: true });

export type FilterResult = { ok: true; text: string; capped: boolean } | { ok: false; reason: 'empty' | 'blocked'; rule?: string };

/** A line where the model starts speaking as someone else ("alice: …", "you: …"). */
const SPEAKER_LINE = /^\s*[\p{L}\p{N}_.-]{1,32}( \(to you\)| asks you)?:\s/u;
const OWN_PREFIX = /^\s*(you|assistant|promethean)\s*:\s*/iu;

/** The model's text tidied: own-name prefix dropped, cut where another speaker begins, blank runs collapsed. */
export function tidyReply(raw: string): string {
  const lines = raw.replace(/\r\n?/g, '\n').replace(OWN_PREFIX, '').split('\n');
  const kept: string[] = [];
  for (const [i, l] of lines.entries()) {
    if (i > 0 && SPEAKER_LINE.test(l)) break;
    kept.push(l.trimEnd());
  }
  return kept.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

/** At most `max` characters, cut at a word boundary when one is near, with an ellipsis. */
export function capLength(text: string, max: number): { text: string; capped: boolean } {
  const chars = [...text];
  if (chars.length <= max) return { text, capped: false };
  const head = chars.slice(0, max - 1).join('');
  // At a word's end already when the next character is a space; else back to the last space, if near.
  const space = /\s/.test(chars[max - 1]!) ? head.length : head.search(/\s\S*$/);
  const cutAt = space > max / 2 ? space : head.length;
  return { text: `${head.slice(0, cutAt).trimEnd()}…`, capped: true };
}

/** Tidy, cap, then the watch rules; a rule's rewritten text is capped again. */
export async function filterReply(candidate: ReplyCandidate, maxChars: number, watch: WatchRules): Promise<FilterResult> {
  const tidy = tidyReply(candidate.text);
  if (tidy.length === 0) return { ok: false, reason: 'empty' };
  const first = capLength(tidy, maxChars);
  const verdict = await watch({ ...candidate, text: first.text });
  if (!verdict.allow) return { ok: false, reason: 'blocked', rule: verdict.rule };
  if (verdict.text === undefined) return { ok: true, text: first.text, capped: first.capped };
  const rewritten = capLength(verdict.text.trim(), maxChars);
  if (rewritten.text.length === 0) return { ok: false, reason: 'empty' };
  return { ok: true, text: rewritten.text, capped: first.capped || rewritten.capped };
}
