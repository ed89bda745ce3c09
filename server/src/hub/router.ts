/**
 * Subscription index: NATS-style patterns (pre-split) → subscribers, with a bounded cache of
 * concrete topic → subscriber list so the hot path is one Map lookup. Any subscription change
 * clears the cache.
 */
import { matchTokens } from '@promethean/shared';

interface PatternEntry<S> {
  tokens: string[];
  subscribers: Set<S>;
}

export class SubscriptionIndex<S> {
  readonly #patterns = new Map<string, PatternEntry<S>>();
  readonly #cache = new Map<string, readonly S[]>();
  readonly #cacheSize: number;

  constructor(cacheSize: number) {
    this.#cacheSize = Math.max(1, cacheSize);
  }

  get patternCount(): number {
    return this.#patterns.size;
  }

  /** Concrete topics currently cached (never more than the cache size). */
  get cachedTopics(): number {
    return this.#cache.size;
  }

  add(pattern: string, subscriber: S): void {
    let entry = this.#patterns.get(pattern);
    if (!entry) {
      entry = { tokens: pattern.split('.'), subscribers: new Set() };
      this.#patterns.set(pattern, entry);
    }
    if (!entry.subscribers.has(subscriber)) {
      entry.subscribers.add(subscriber);
      this.#cache.clear();
    }
  }

  remove(pattern: string, subscriber: S): void {
    const entry = this.#patterns.get(pattern);
    if (!entry || !entry.subscribers.delete(subscriber)) return;
    if (entry.subscribers.size === 0) this.#patterns.delete(pattern);
    this.#cache.clear();
  }

  /** Every subscriber with at least one pattern matching `topic`, each once. */
  match(topic: string): readonly S[] {
    const hit = this.#cache.get(topic);
    if (hit) return hit;
    const subject = topic.split('.');
    const found = new Set<S>();
    for (const entry of this.#patterns.values()) {
      if (matchTokens(entry.tokens, subject)) for (const s of entry.subscribers) found.add(s);
    }
    const list = [...found];
    if (this.#cache.size >= this.#cacheSize) this.#cache.clear();
    this.#cache.set(topic, list);
    return list;
  }
}
