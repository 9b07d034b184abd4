import { failureKind, failureReason, type FailureKind } from '../../shared/failure';
import type { Logger } from '../../shared/logging';
import { timed, type Metrics } from '../../shared/metrics';
import { withRetry } from './retry';

export type MoveStage = 'save' | 'publish';

/** How often one stage is tried within one move, and what is worth another try. */
export interface RetryPolicy {
  attempts: number;
  sleepMs: number;
  sleep?: (ms: number) => Promise<void>;
  retryable: (err: unknown) => boolean;
  /** Sees each failure that will be tried again within this move. */
  onRetry?: (stage: MoveStage, crashId: string, err: unknown, attempt: number) => void;
}

/** One try per move: the caller keeps the crash (the spool, on disk) and decides when to move it again. */
export const ONE_ATTEMPT: RetryPolicy = { attempts: 1, sleepMs: 0, retryable: () => false };

export interface MoveFailure {
  stage: MoveStage;
  kind: FailureKind;
  reason: string;
  error: unknown;
}

/** What a move achieved; `failure` says which stage stopped it, when one did. */
export interface MoveOutcome {
  saved: boolean;
  published: boolean;
  failure?: MoveFailure;
}

export interface MoveSteps {
  crashId: string;
  /** Stores the crash; absent when it is already stored (a spool entry in the saved state). */
  save?: () => Promise<void>;
  publish: () => Promise<void>;
  /** Runs once this move has stored the crash, before publishing; what it throws rejects the move. */
  afterSave?: () => void | Promise<void>;
}

const STAGE_TIME = { save: 'collector.crashmover.crash_save.time', publish: 'collector.crashmover.crash_publish.time' } as const;

/**
 * Saves a crash, then publishes its id: the one step the crashmover and the
 * spool's movers share. Each stage is tried as `policy` says; a failed save
 * stops the move, a failed publish does not undo the save. Failures come back
 * in the outcome with their kind and reason for the caller to act on (drop,
 * back off, quarantine); nothing here throws for them.
 */
export async function saveThenPublish(steps: MoveSteps, policy: RetryPolicy, metrics: Metrics, logger: Logger): Promise<MoveOutcome> {
  const { crashId } = steps;
  const attempt = (stage: MoveStage, fn: () => Promise<void>) =>
    withRetry(() => timed(metrics, STAGE_TIME[stage], fn), {
      attempts: policy.attempts,
      sleepMs: policy.sleepMs,
      sleep: policy.sleep,
      retryable: policy.retryable,
      onRetry: (err, n) => policy.onRetry?.(stage, crashId, err, n),
    });
  if (steps.save) {
    try {
      await attempt('save', steps.save);
    } catch (err) {
      return { saved: false, published: false, failure: failure('save', err) };
    }
    logger.info(`${crashId} saved`);
    await steps.afterSave?.();
  }
  try {
    await attempt('publish', steps.publish);
  } catch (err) {
    return { saved: true, published: false, failure: failure('publish', err) };
  }
  logger.info(`${crashId} published`);
  return { saved: true, published: true };
}

function failure(stage: MoveStage, error: unknown): MoveFailure {
  return { stage, kind: failureKind(error), reason: failureReason(error), error };
}
