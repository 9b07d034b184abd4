/**
 * A crash report we refuse, with the exact status and `text/plain` body the
 * client gets (SPEC §1.1). `reason` is the metrics tag.
 */
export class Rejection extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly reason: string,
    /** For a 503: sent as `Retry-After`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(body);
    this.name = 'Rejection';
  }
}

export const malformed = (reason: string) => new Rejection(400, `Discarded=malformed_${reason}`, reason);
export const tooLarge = () => new Rejection(413, 'Discarded=too_large', 'too_large');
export const bodyTimeout = () => new Rejection(408, 'Discarded=timeout', 'timeout');
