import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ErrorReporter } from '../shared/error-reporting';
import type { Logger } from '../shared/logging';
import type { Metrics } from '../shared/metrics';
import { sendText } from './breakpad/respond';
import { createSubmitHandler, type SubmitDeps } from './breakpad/submit-handler';
import { mountDockerflow, type DockerflowDeps } from './dockerflow';

/** What the admin listener needs: everything but `/submit`. */
export interface OperationsDeps {
  dockerflow: Omit<DockerflowDeps, 'metrics'>;
  logger: Logger;
  metrics: Metrics;
  /** `GET /metrics`, on the listeners that serve it. */
  metricsRoute?: express.RequestHandler;
  /** Runs first on every request (the access log). */
  before?: express.RequestHandler;
  errorReporter: ErrorReporter;
}

export interface AppDeps extends OperationsDeps {
  submit: SubmitDeps;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The worker's HTTP handler: `/submit`, the Dockerflow endpoints, 404/405,
 * and the unhandled-error path. `POST /submit` goes straight to its handler:
 * Express's routing and request decoration were a fifth of the CPU of a
 * small crash. Every other request (other spellings of `/submit` included)
 * goes through the Express app.
 */
export function createApp(deps: AppDeps): Handler {
  const app = baseApp(deps);

  const submit = createSubmitHandler(deps.submit);
  app.post('/submit', (req, res, next) => submit(req, res, next));
  const unhandled = finishApp(app, ['/submit', ...mountOperations(app, deps)], deps);

  const before = deps.before;
  return (req, res) => {
    if (req.method !== 'POST' || (req.url !== '/submit' && !req.url?.startsWith('/submit?'))) {
      app(req, res);
      return;
    }
    const run = () =>
      void submit(req, res, (err?: unknown) => {
        if (err === undefined) return;
        if (res.headersSent) res.destroy();
        else unhandled(err, req, res);
      });
    if (before) before(req as Request, res as Response, run);
    else run();
  };
}

/**
 * The admin listener's handler (`ADMIN_PORT`): the Dockerflow endpoints and,
 * when given, `/metrics`; no `/submit`, so the internet never needs it.
 */
export function createAdminApp(deps: OperationsDeps): Handler {
  const app = baseApp(deps);
  finishApp(app, mountOperations(app, deps), deps);
  return app;
}

function baseApp(deps: OperationsDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (deps.before) app.use(deps.before);
  return app;
}

/** The Dockerflow endpoints and `/metrics` if this listener serves it; returns their paths. */
function mountOperations(app: express.Express, deps: OperationsDeps): string[] {
  const paths = mountDockerflow(app, { ...deps.dockerflow, metrics: deps.metrics });
  if (deps.metricsRoute) {
    app.get('/metrics', deps.metricsRoute);
    paths.push('/metrics');
  }
  return paths;
}

type Unhandled = (err: unknown, req: IncomingMessage, res: ServerResponse) => void;

/** 405 for a known path, 404 otherwise, and the unhandled-error path (returned, for `/submit`'s own use). */
function finishApp(app: express.Express, known: string[], deps: OperationsDeps): Unhandled {
  app.use((req: Request, res: Response) => {
    const knownPath = known.includes(req.path);
    res
      .status(knownPath ? 405 : 404)
      .type('text/plain')
      .send(knownPath ? 'Method Not Allowed' : 'Not Found');
  });

  function unhandled(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    deps.logger.error('Unhandled exception', { path, method: req.method, error: (err as Error)?.message, stack: (err as Error)?.stack });
    deps.errorReporter.capture(err, { method: req.method, url: path, headers: req.headers });
    sendText(res, 500, 'Internal Server Error');
  }

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Errors from Express itself about the request (e.g. malformed URL): not ours.
      res.status(status).type('text/plain').send('Bad Request');
      return;
    }
    unhandled(err, req, res);
  });
  return unhandled;
}
