/**
 * Topics: `promethean.p.<provider>.t.<tenant>.<intent>`. Subscriptions follow NATS wildcard rules
 * (`*` one token, `>` one or more trailing tokens) so the same strings work on the hub and on NATS.
 */
import { PrometheanError } from './errors.ts';

export const TOPIC_PREFIX = 'promethean';
/** Provider and tenant tokens. */
export const ID_TOKEN_RE = /^[a-z0-9_-]+$/;
/** Intent tokens also allow the seeds' event names such as `SocialMessageCreated`. */
export const INTENT_TOKEN_RE = /^[A-Za-z0-9_-]+$/;
export const MAX_TOPIC_LENGTH = 255;

export interface TopicParts {
  provider: string;
  tenant: string;
  intent: string;
}

export function isIntent(intent: string): boolean {
  if (intent.length === 0 || intent.length > MAX_TOPIC_LENGTH) return false;
  for (const t of intent.split('.')) if (!INTENT_TOKEN_RE.test(t)) return false;
  return true;
}

export function topic(provider: string, tenant: string, intent: string): string {
  if (!ID_TOKEN_RE.test(provider)) throw new PrometheanError('bad_topic', `bad provider token "${provider}"`);
  if (!ID_TOKEN_RE.test(tenant)) throw new PrometheanError('bad_topic', `bad tenant token "${tenant}"`);
  if (!isIntent(intent)) throw new PrometheanError('bad_topic', `bad intent "${intent}"`);
  return `${TOPIC_PREFIX}.p.${provider}.t.${tenant}.${intent}`;
}

/** Parses a concrete topic (no wildcards); returns undefined when it is not one. */
export function parseTopic(value: string): TopicParts | undefined {
  if (value.length > MAX_TOPIC_LENGTH) return undefined;
  const tokens = value.split('.');
  if (tokens.length < 6 || tokens[0] !== TOPIC_PREFIX || tokens[1] !== 'p' || tokens[3] !== 't') return undefined;
  const provider = tokens[2]!;
  const tenant = tokens[4]!;
  if (!ID_TOKEN_RE.test(provider) || !ID_TOKEN_RE.test(tenant)) return undefined;
  const intent = tokens.slice(5).join('.');
  if (!isIntent(intent)) return undefined;
  return { provider, tenant, intent };
}

/** A subscription pattern: concrete tokens, `*`, and a final `>`. */
export function isTopicPattern(pattern: string): boolean {
  if (pattern.length === 0 || pattern.length > MAX_TOPIC_LENGTH) return false;
  const tokens = pattern.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '>') {
      if (i !== tokens.length - 1) return false;
    } else if (t !== '*' && !INTENT_TOKEN_RE.test(t)) return false;
  }
  return true;
}

/** NATS subject matching over already-split tokens (the hot path keeps patterns pre-split). */
export function matchTokens(pattern: readonly string[], subject: readonly string[]): boolean {
  const n = pattern.length;
  for (let i = 0; i < n; i++) {
    const p = pattern[i]!;
    if (p === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== '*' && p !== subject[i]) return false;
  }
  return subject.length === n;
}

export function matchTopic(pattern: string, subject: string): boolean {
  return matchTokens(pattern.split('.'), subject.split('.'));
}

/** Most strings one alternation pattern may expand to (guards against a cartesian blow-up). */
export const MAX_ALTERNATION_EXPANSION = 1024;

/**
 * Expands manifest alternations: `voice.control.(join|leave)` → `voice.control.join`,
 * `voice.control.leave`. Several groups expand to their cartesian product with the first group varying
 * slowest (`(a|b).(c|d)` → `a.c`, `a.d`, `b.c`, `b.d`). Nested, empty or unbalanced groups throw
 * {@link PrometheanError} `bad_topic`.
 */
export function expandAlternations(value: string): string[] {
  const unbalanced = () => new PrometheanError('bad_topic', `unbalanced alternation in "${value}"`);
  let out = [''];
  let at = 0;
  while (at < value.length) {
    const open = value.indexOf('(', at);
    const literal = open < 0 ? value.slice(at) : value.slice(at, open);
    if (literal.includes(')') || literal.includes('|')) throw unbalanced();
    if (open < 0) {
      out = out.map((prefix) => prefix + literal);
      break;
    }
    const close = value.indexOf(')', open);
    if (close < 0) throw unbalanced();
    const inner = value.slice(open + 1, close);
    if (inner.includes('(')) throw new PrometheanError('bad_topic', `nested alternation in "${value}"`);
    const options = inner.split('|');
    if (options.some((o) => o.length === 0)) throw new PrometheanError('bad_topic', `empty alternative in "${value}"`);
    if (out.length * options.length > MAX_ALTERNATION_EXPANSION) {
      throw new PrometheanError('bad_topic', `"${value}" expands to more than ${MAX_ALTERNATION_EXPANSION} strings`);
    }
    out = out.flatMap((prefix) => options.map((option) => prefix + literal + option));
    at = close + 1;
  }
  return out;
}
