/**
 * Loss and duplicate accounting on the gateway's sequence numbers: within one session every dispatch
 * has the next `s`; a resume replays what was missed, so after it a gap means lost events and a
 * number seen before means a duplicate (which is dropped, not published). A new session (READY)
 * starts counting afresh.
 */
export class SequenceTracker {
  /** Last sequence number accepted (0 before READY). */
  seq = 0;
  lost = 0;
  duplicates = 0;

  /** Accounts for dispatch `s`; false when it is a duplicate to drop. */
  accept(s: number | null | undefined, t: string | null | undefined): boolean {
    if (typeof s !== 'number') return true;
    if (t === 'READY') {
      this.seq = s;
      return true;
    }
    if (s <= this.seq) {
      this.duplicates++;
      return false;
    }
    if (this.seq > 0 && s > this.seq + 1) this.lost += s - this.seq - 1;
    this.seq = s;
    return true;
  }
}
