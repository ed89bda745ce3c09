/**
 * Which user sits on which MLS leaf. RFC 9420 §12.1.1 / §12.1.3: an Add takes the leftmost blank leaf
 * (extending the tree when none is blank) and a Remove blanks the leaf.
 */
export class LeafTracker {
  private readonly slots: (string | undefined)[] = [];

  /** Places `userId` on the leftmost free leaf and returns its index. */
  add(userId: string): number {
    let index = this.slots.indexOf(undefined);
    if (index === -1) index = this.slots.length;
    this.slots[index] = userId;
    return index;
  }

  /** Blanks `leaf`; returns the user who sat there. */
  remove(leaf: number): string | undefined {
    const user = this.slots[leaf];
    if (leaf >= 0 && leaf < this.slots.length) this.slots[leaf] = undefined;
    return user;
  }

  leafOf(userId: string): number | undefined {
    const index = this.slots.indexOf(userId);
    return index === -1 ? undefined : index;
  }

  userAt(leaf: number): string | undefined {
    return this.slots[leaf];
  }

  /** Occupied leaves as [leaf, userId] pairs, left to right. */
  entries(): [number, string][] {
    const out: [number, string][] = [];
    this.slots.forEach((user, leaf) => {
      if (user !== undefined) out.push([leaf, user]);
    });
    return out;
  }

  clear(): void {
    this.slots.length = 0;
  }
}
