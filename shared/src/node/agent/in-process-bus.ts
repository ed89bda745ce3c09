/**
 * A bus inside one process: same topic matching as the hub, no sockets. For agents embedded in the
 * same process as their peers and for unit tests of agent logic; cross-process traffic uses the hub.
 */
import type { Envelope } from '../../envelope.ts';
import { matchTokens } from '../../topics.ts';
import type { AgentBus, BusHandler } from './bus.ts';

export class InProcessBus implements AgentBus {
  readonly #subs = new Set<{ tokens: string[]; handler: BusHandler }>();
  readonly queueDepth = 0;

  publish(envelope: Envelope, attachments: readonly Uint8Array[] = []): void {
    const subject = envelope.dst.split('.');
    for (const sub of [...this.#subs]) {
      if (matchTokens(sub.tokens, subject)) queueMicrotask(() => void sub.handler(envelope, [...attachments]));
    }
  }

  subscribe(pattern: string, handler: BusHandler): () => void {
    const sub = { tokens: pattern.split('.'), handler };
    this.#subs.add(sub);
    return () => this.#subs.delete(sub);
  }
}
