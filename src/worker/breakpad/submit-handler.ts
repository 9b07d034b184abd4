import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCrashId, isValidCrashId } from '../../shared/crash-id';
import type { Logger } from '../../shared/logging';
import type { Metrics } from '../../shared/metrics';
import type { ThrottleDecision, Throttler } from '../throttler';
import type { RawCrash } from '../../shared/crash-report';
import { SinkRefusal, type CrashSink, type SinkOutcome } from '../crashmover/crash-sink';
import { buildRawCrash, removePrivacyFields, utcNow } from './raw-crash';
import type { HeldBytes } from './memory-budget';
import { ClientAborted, readPayload, type PayloadLimits } from './read-payload';
import { Rejection } from './rejection';
import { checkSubmitHeaders } from './request-headers';
import { isStageSubmitter } from './stage-submitter';
import { sendText, sendTextAndDiscard } from './respond';

export interface SubmitDeps {
  limits: PayloadLimits;
  stageSubmitterBearerToken: string;
  /** BREAKPAD_REJECT_LINGER_SECONDS, in ms. */
  rejectLingerMs: number;
  throttler: Pick<Throttler, 'throttle'>;
  sink: CrashSink;
  logger: Logger;
  metrics: Metrics;
}

/** `POST /submit`: SPEC §1 from headers to CrashID. */
export function createSubmitHandler(deps: SubmitDeps) {
  const { logger, metrics } = deps;

  function reject(req: IncomingMessage, res: ServerResponse, rejection: Rejection): void {
    if (rejection.retryAfterSeconds !== undefined) {
      metrics.incr('collector.breakpad_resource.refused', [`reason:${rejection.reason}`]);
      logger.warn(`refused crash report: ${rejection.body}`);
      res.setHeader('Retry-After', String(rejection.retryAfterSeconds));
    } else {
      metrics.incr('collector.breakpad_resource.malformed', [`reason:${rejection.reason}`]);
      logger.info(`rejected crash report: ${rejection.body}`);
    }
    // A client too slow to finish its body is not kept for another request.
    sendTextAndDiscard(req, res, rejection.status, rejection.body, deps.rejectLingerMs, { close: rejection.status === 408 });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, held: HeldBytes): Promise<void> {
    const now = utcNow();
    const headers = checkSubmitHeaders(req.headers, deps.limits.maxPayloadSize);
    if (headers.compressed) metrics.incr('collector.breakpad_resource.gzipped_crash');

    let payload;
    try {
      payload = await readPayload(req, headers, deps.limits, held);
    } catch (err) {
      if (headers.compressed && err instanceof Rejection && err.reason === 'bad_gzip') {
        metrics.histogram('collector.breakpad_resource.gzipped_crash_decompress', 0, ['result:fail']);
      }
      throw err;
    }
    if (payload.decompressMs !== undefined) {
      metrics.histogram('collector.breakpad_resource.gzipped_crash_decompress', payload.decompressMs, ['result:success']);
    }
    metrics.histogram('collector.breakpad_resource.crash_size', payload.payloadSize, [`payload:${headers.compressed ? 'compressed' : 'uncompressed'}`]);
    metrics.incr('collector.breakpad_resource.incoming_crash');

    const rawCrash = buildRawCrash(payload, { now, compressed: headers.compressed, userAgent: req.headers['user-agent'] });
    const { result, ruleName } = deps.throttler.throttle(rawCrash);

    const crashId = crashIdFor(req, res, rawCrash, result, now.date, deps);
    if (crashId === undefined) return;

    logger.info(`${crashId}: matched by ${ruleName}; returned ${result}`);
    metrics.incr('collector.breakpad_resource.throttle_rule', [`rule:${ruleName}`]);
    metrics.incr('collector.breakpad_resource.throttle', [`result:${result.toLowerCase()}`, `rule:${ruleName}`]);
    rawCrash.metadata!.throttle_rule = ruleName;

    if (result === 'REJECT') {
      sendText(res, 200, `Discarded=rule_${ruleName}`);
      return;
    }
    if (result === 'FAKEACCEPT') {
      sendText(res, 200, `CrashID=bp-${crashId}\n`);
      return;
    }

    removePrivacyFields(rawCrash);
    await deliver(res, { crashId, rawCrash, dumps: payload.dumps, doneWithBytes: held.buffers.lend() }, deps);
  }

  return async function submit(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): Promise<void> {
    const start = performance.now();
    // The parts' bytes stay in memory until the sink has the crash (saved, or
    // spooled) or it is refused: the handler awaits both, so they are released here.
    const held = deps.limits.memoryBudget.hold();
    try {
      await handle(req, res, held);
    } catch (err) {
      if (err instanceof Rejection) reject(req, res, err);
      else if (err instanceof ClientAborted) logger.debug('client aborted its crash upload');
      else next(err);
    } finally {
      held.release();
      metrics.timing('collector.breakpad_resource.on_post.time', performance.now() - start);
    }
  };
}

/**
 * The crash id: the client's own `uuid` when a stage submitter sends one
 * (answered 401/400 here when not allowed or not valid: undefined is
 * returned), else a new one whose last digit carries the throttle verdict.
 */
function crashIdFor(
  req: IncomingMessage,
  res: ServerResponse,
  rawCrash: RawCrash,
  result: ThrottleDecision['result'],
  date: Date,
  deps: Pick<SubmitDeps, 'stageSubmitterBearerToken' | 'logger' | 'metrics'>,
): string | undefined {
  if (!('uuid' in rawCrash)) {
    const crashId = createCrashId(date, result === 'DEFER' ? 1 : 0);
    rawCrash.uuid = crashId;
    return crashId;
  }
  if (!isStageSubmitter(req.headers.authorization, deps.stageSubmitterBearerToken)) {
    deps.metrics.incr('collector.breakpad_resource.unauthorized_uuid');
    sendText(res, 401, 'Discarded=unauthorized_uuid');
    return undefined;
  }
  const crashId = rawCrash.uuid;
  if (!isValidCrashId(crashId)) {
    deps.metrics.incr('collector.breakpad_resource.malformed', ['reason:invalid_uuid']);
    sendText(res, 400, 'Discarded=malformed_invalid_uuid');
    return undefined;
  }
  deps.logger.info(`${crashId} has existing crash_id`);
  return crashId;
}

/** Hands the crash to the sink and answers by its outcome: 200 CrashID only once the sink has it. */
async function deliver(res: ServerResponse, crash: Parameters<CrashSink['submit']>[0], deps: Pick<SubmitDeps, 'sink' | 'logger' | 'metrics'>): Promise<void> {
  const { crashId } = crash;
  let outcome: SinkOutcome;
  try {
    outcome = await deps.sink.submit(crash);
  } catch (err) {
    if (!(err instanceof SinkRefusal)) throw err;
    deps.logger.warn(`${crashId}: ${err.why}; answered 503`);
    res.setHeader('Retry-After', String(err.retryAfterSeconds));
    sendText(res, 503, `Error: ${err.why}; retry after ${err.retryAfterSeconds} seconds`);
    return;
  }
  if (outcome === 'unstorable') {
    // Checked before answering: a crash that can never be stored is refused, never acknowledged.
    deps.metrics.incr('collector.breakpad_resource.malformed', ['reason:unstorable']);
    sendText(res, 400, 'Discarded=malformed_unstorable');
    return;
  }
  if (outcome === 'failed') {
    res.setHeader('Retry-After', String(deps.sink.retryAfterSeconds));
    sendText(res, 500, 'Error: the crash could not be saved; please retry later');
    return;
  }
  sendText(res, 200, `CrashID=bp-${crashId}\n`);
}
