import type { Request, RequestHandler, Response } from 'express';
import type { Registry } from 'prom-client';
import { isMessage, type PromCollectRequest, type PromScrapeResponse, type WorkerToPrimary } from '../../shared/ipc';

export interface MetricsEndpointOptions {
  registry: Registry;
  /** Bound on waiting for the primary's merged answer. */
  timeoutMs: number;
  send: (msg: WorkerToPrimary) => void;
}

export interface MetricsEndpoint {
  /** `GET /metrics`: mount it on every listener that serves the metrics (public, admin, or both). */
  handler: RequestHandler;
  /** Every IPC message from the primary; call it once per worker, whatever the number of listeners. */
  onMessage(msg: unknown): void;
}

/**
 * `GET /metrics` on any worker shows the whole node: the worker asks the
 * primary, which gathers every worker's registry over IPC. Without a primary
 * (a worker run alone) the worker's own registry is served.
 */
export function createMetricsEndpoint(opts: MetricsEndpointOptions): MetricsEndpoint {
  let nextId = 1;
  const waiting = new Map<number, (msg: PromScrapeResponse) => void>();

  function handler(_req: Request, res: Response): void {
    if (!process.send) {
      void opts.registry.metrics().then(
        (text) => res.type(opts.registry.contentType).send(text),
        (err: Error) => res.status(500).type('text/plain').send(`Error: cannot collect metrics: ${err.message}`),
      );
      return;
    }
    const id = nextId++;
    const timer = setTimeout(() => {
      waiting.delete(id);
      res.status(503).type('text/plain').send("Error: the primary did not answer with the node's metrics in time");
    }, opts.timeoutMs);
    waiting.set(id, (msg) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (msg.error !== undefined) res.status(500).type('text/plain').send(`Error: cannot aggregate metrics: ${msg.error}`);
      else
        res
          .status(200)
          .type(msg.contentType ?? 'text/plain')
          .send(msg.text);
    });
    opts.send({ type: 'antenna:prom-scrape', id });
  }

  return {
    handler,
    onMessage(msg: unknown) {
      if (isMessage<PromScrapeResponse>(msg, 'antenna:prom-text')) {
        waiting.get(msg.id)?.(msg);
      } else if (isMessage<PromCollectRequest>(msg, 'antenna:prom-collect')) {
        // A collector that throws costs this worker's share of one scrape, not the worker.
        void opts.registry.getMetricsAsJSON().then(
          (metrics) => opts.send({ type: 'antenna:prom-json', id: msg.id, metrics }),
          () => opts.send({ type: 'antenna:prom-json', id: msg.id, metrics: [] }),
        );
      }
    },
  };
}
