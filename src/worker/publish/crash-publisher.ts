/** The publish seam: one implementation per backend (noop, pubsub, sqs). */
export interface CrashPublisher {
  /** Name used in `/__heartbeat__` errors, e.g. `PubSubCrashPublish`. */
  readonly name: string;
  /** Publishes the crash id (its UTF-8 bytes, nothing else). Throws on failure. */
  publish(crashId: string): Promise<void>;
  /** Start-up check: publishes `test`. Throws with the reason. */
  verify(): Promise<void>;
  /** Cheap health probe for `/__heartbeat__`. Throws with the reason when unhealthy. */
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}
