/** Uploads from this size on are what glibc's trimming costs most for: 140–300 page faults per 4 MB crash, 4–7 per 400 KB one. */
export const LARGE_UPLOAD_BYTES = 1 << 20;

type Transferable = ArrayBuffer & { transfer?: (newLength: number) => ArrayBuffer };

/**
 * Has glibc keep the memory of large uploads once a worker has had one,
 * instead of giving it back to the kernel after each and faulting it in
 * again for the next.
 *
 * An upload's bytes are Node's 64 KiB socket buffers, held until the crash
 * is saved, so freeing a 4 MB upload leaves 4 MB free at the top of the
 * heap, and glibc returns whatever passes its trim threshold (128 KiB at
 * start) to the kernel. With several uploads in flight per worker that was
 * 140–300 page faults and ~0.5 ms of CPU per 4 MB crash (docs/performance.md,
 * session 9). glibc raises the threshold itself when a memory-mapped chunk
 * larger than its mmap threshold is freed: to twice that chunk's size, the
 * mmap threshold to the size (malloc.c, free(); up to 32 MiB). Nothing else
 * in a worker frees such a chunk, so this frees one on purpose, once, before
 * the first large upload is freed. Workers that never see one keep glibc's
 * own thresholds, and with them their memory at small sizes.
 *
 * Without effect when MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_ is
 * set (glibc then stops adapting: the operator's value stands), and under
 * another allocator (musl).
 */
export class MallocRetention {
  private pending: boolean;

  constructor(
    /** The trim threshold wanted, in bytes; 0 = glibc's own. */
    private readonly keepBytes: number,
    private readonly freeMappedChunk: (bytes: number) => void = allocateAndFree,
  ) {
    this.pending = keepBytes > 0;
  }

  /** An upload of `bytes` is about to free its memory. */
  beforeFree(bytes: number): void {
    if (!this.pending || bytes < LARGE_UPLOAD_BYTES) return;
    this.pending = false;
    this.freeMappedChunk(Math.floor(this.keepBytes / 2));
  }
}

function allocateAndFree(bytes: number): void {
  // allocUnsafeSlow: one malloc of exactly `bytes`, mapped by glibc at this size; transfer(0) frees it now.
  (Buffer.allocUnsafeSlow(bytes).buffer as Transferable).transfer?.(0);
}
