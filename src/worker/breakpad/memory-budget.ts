import { BodyBuffers } from './body-buffers';
import type { MallocRetention } from './malloc-retention';
import { Rejection } from './rejection';

/**
 * Body bytes one worker holds in memory across all its uploads. Each upload
 * takes a `HeldBytes` and adds the bytes it keeps as they arrive; an add that
 * would go past the budget fails, and that upload alone is refused (503),
 * so a worker's memory stays bounded whatever its clients send. The holder
 * releases everything once the crash is saved or refused.
 */
export class MemoryBudget {
  private used = 0;

  constructor(
    readonly maxBytes: number,
    /** Sent as `Retry-After` with the refusal. */
    readonly retryAfterSeconds: number,
    private readonly retention?: Pick<MallocRetention, 'beforeFree'>,
  ) {}

  /** Bytes held right now by this worker's uploads. */
  get inUse(): number {
    return this.used;
  }

  hold(): HeldBytes {
    return new HeldBytes(this);
  }

  /** The answer to an upload that does not fit. */
  refusal(): Rejection {
    return new Rejection(
      503,
      `Error: the collector is busy (too many upload bytes in memory, BREAKPAD_WORKER_MEMORY_BUDGET); retry after ${this.retryAfterSeconds} seconds`,
      'memory_budget',
      this.retryAfterSeconds,
    );
  }

  /** @internal */
  take(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.used -= bytes;
  }

  /** @internal An upload holding `bytes` is about to free them. */
  beforeFree(bytes: number): void {
    this.retention?.beforeFree(bytes);
  }
}

/** One upload's share of the budget, and the buffers its bytes are in (freed on release unless lent out). */
export class HeldBytes {
  private held = 0;
  private released = false;
  readonly buffers = new BodyBuffers();

  constructor(private readonly budget: MemoryBudget) {}

  get bytes(): number {
    return this.held;
  }

  /** Counts `bytes` more; false (nothing counted) when the budget cannot take them. */
  add(bytes: number): boolean {
    if (this.released || !this.budget.take(bytes)) return false;
    this.held += bytes;
    return true;
  }

  /** Gives every byte back and frees the buffers (unless lent out); later calls do nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.beforeFree(this.held);
    this.buffers.free();
    this.budget.give(this.held);
    this.held = 0;
  }
}
