/** The fake's pending timers, so that stop() can cancel every one. */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.pending.delete(t);
      fn();
    }, ms);
    this.pending.add(t);
    return t;
  }

  cancel(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.pending.delete(t);
  }

  cancelAll(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}
