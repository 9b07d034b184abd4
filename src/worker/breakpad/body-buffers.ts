/** Smallest buffer worth freeing by hand: below it, the GC's own pace costs nothing measurable. */
export const FREE_MIN_BYTES = 8192;

type Transferable = ArrayBuffer & { transfer?: (newLength: number) => ArrayBuffer; readonly detached?: boolean };

/**
 * The memory one request's body was read into, freed the moment the crash is
 * done with it instead of at V8's next full GC.
 *
 * Why by hand: V8 counts every array buffer allocated since its last
 * mark-compact against the old generation's limit until a scavenge finds it
 * dead, and scavenges for them only every 32 MB. A 4 MB upload arrives as 64
 * buffers of 64 KB (one per socket read), so a worker ran a mark-compact
 * every few crashes (174 in 1,186 crashes) whether or not it kept the bytes.
 * Freeing each body's buffers once its crash is saved took that to 3, one
 * worker's CPU per 4 MB crash from 5.4–6.2 ms to 3.9–4.4, and its peak RSS
 * from 135–141 MB to 96 (docs/performance.md, session 6).
 *
 * Freeing memory that something still reads would be a use-after-free in
 * native code (a write to a file or a socket in flight). So only buffers
 * that this request alone holds are tracked: a chunk that is the whole of
 * its array buffer (the HTTP parser copies every body chunk into its own)
 * and the inflater's own output buffers. And once the bytes have been lent
 * out (handed to a sink), they are freed only once every loan is back,
 * which may be after the request is done (the spool's movers save a crash
 * from memory later): a sink returns it when nothing it started reads the
 * bytes any more, and a sink that never does leaves them to the GC, as
 * before.
 */
export class BodyBuffers {
  private buffers: Transferable[] = [];
  private loans = 0;
  private done = false;

  /** Tracks a body chunk when it alone views its array buffer, and is large enough to matter. */
  track(chunk: Buffer): void {
    const ab = chunk.buffer as Transferable;
    if (chunk.byteOffset === 0 && chunk.length === ab.byteLength && chunk.length >= FREE_MIN_BYTES) this.buffers.push(ab);
  }

  /** Tracks a buffer this request allocated and alone writes (whatever views of it it hands on). */
  own(buffer: Buffer): void {
    if (buffer.buffer.byteLength >= FREE_MIN_BYTES) this.buffers.push(buffer.buffer as Transferable);
  }

  /** The bytes go to someone who must call the returned function once nothing of theirs reads them any more. */
  lend(): () => void {
    this.loans++;
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      this.loans--;
      if (this.loans === 0 && this.done) this.detachAll();
    };
  }

  /** The request is done with its bytes: frees every tracked buffer now, or when the last loan comes back. */
  free(): void {
    this.done = true;
    if (this.loans === 0) this.detachAll();
  }

  private detachAll(): void {
    const { buffers } = this;
    this.buffers = [];
    for (const ab of buffers) {
      // transfer(0) detaches the buffer, which frees its memory now (Node 22+; without it, the GC does).
      if (ab.transfer && !ab.detached) ab.transfer(0);
    }
  }
}
