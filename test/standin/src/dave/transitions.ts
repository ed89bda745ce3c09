/**
 * Transition bookkeeping: after a commit (or an op 21 protocol change) is announced, wait for op 23
 * from every recipient — or `readyTimeoutMs` — then send op 22 execute to them.
 */
import type { DaveFaults } from './faults.ts';
import { DaveOp } from './opcodes.ts';

interface Pending {
  id: number;
  waiting: Set<string>;
  recipients: string[];
  timer: NodeJS.Timeout | undefined;
}

export class TransitionTracker {
  private lastId = 0;
  private pending: Pending | undefined;
  private closed = false;

  private readonly transport: { sendJson(userId: string, op: number, d: Record<string, unknown>): void };
  private readonly readyTimeoutMs: number;
  private readonly faults: DaveFaults;
  private readonly onExecuted: (transitionId: number, late: string[]) => void;

  constructor(
    transport: { sendJson(userId: string, op: number, d: Record<string, unknown>): void },
    readyTimeoutMs: number,
    faults: DaveFaults,
    onExecuted: (transitionId: number, late: string[]) => void,
  ) {
    this.transport = transport;
    this.readyTimeoutMs = readyTimeoutMs;
    this.faults = faults;
    this.onExecuted = onExecuted;
  }

  /** Next transition id: 1…65535, wrapping, never 0 (0 means "apply at once"). */
  nextId(): number {
    this.lastId = (this.lastId % 0xffff) + 1;
    return this.lastId;
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** Starts waiting for op 23 from `recipients`. */
  begin(id: number, recipients: string[]): void {
    this.cancelTimer();
    const p: Pending = { id, waiting: new Set(recipients), recipients, timer: undefined };
    this.pending = p;
    if (id !== 0) p.timer = setTimeout(() => this.execute(p), this.readyTimeoutMs);
  }

  ready(userId: string, id: number): void {
    const p = this.pending;
    if (p === undefined || p.id !== id) return;
    p.waiting.delete(userId);
    if (p.waiting.size === 0) this.execute(p);
  }

  /** `userId` left or re-initialised: stop waiting for it. */
  forget(userId: string): void {
    const p = this.pending;
    if (p === undefined) return;
    p.waiting.delete(userId);
    p.recipients = p.recipients.filter((u) => u !== userId);
    if (p.waiting.size === 0 && p.id !== 0) this.execute(p);
  }

  /** Transition id 0: clients applied it on receipt, nothing to execute. */
  finishNow(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.cancelTimer();
    this.pending = undefined;
    this.onExecuted(p.id, []);
  }

  close(): void {
    this.closed = true;
    this.cancelTimer();
    this.pending = undefined;
  }

  private execute(p: Pending): void {
    if (this.pending !== p) return;
    this.cancelTimer();
    const late = [...p.waiting];
    const send = (): void => {
      if (this.closed || this.pending !== p) return;
      this.pending = undefined;
      for (const u of p.recipients) this.transport.sendJson(u, DaveOp.ExecuteTransition, { transition_id: p.id });
      this.onExecuted(p.id, late);
    };
    if (this.faults.executeDelayMs > 0) p.timer = setTimeout(send, this.faults.executeDelayMs);
    else send();
  }

  private cancelTimer(): void {
    if (this.pending?.timer !== undefined) clearTimeout(this.pending.timer);
    if (this.pending !== undefined) this.pending.timer = undefined;
  }
}
