/**
 * The proxy's view of the AWS protocols: which service and object a request
 * is about, error answers in the protocol of the request (S3 REST-XML or SQS
 * JSON), and forwarding to fauxqs.
 */
import http from 'node:http';
import type { FakeAwsRequest } from './types';

export function describeRequest(req: http.IncomingMessage): FakeAwsRequest {
  const url = req.url ?? '/';
  const entry: FakeAwsRequest = { method: req.method ?? 'GET', url, service: 'other' };
  const target = req.headers['x-amz-target'];
  const contentType = String(req.headers['content-type'] ?? '');
  if (typeof target === 'string' && target.startsWith('AmazonSQS.')) {
    entry.service = 'sqs';
    entry.action = target.slice('AmazonSQS.'.length);
  } else if (!contentType.includes('x-amz-json') && !contentType.includes('x-www-form-urlencoded')) {
    const path = url.split('?')[0]!;
    const [bucket, ...rest] = path.replace(/^\//, '').split('/');
    if (bucket) {
      entry.service = 's3';
      entry.bucket = decodeURIComponent(bucket);
      entry.key = rest.map(decodeURIComponent).join('/');
      for (const [h, v] of Object.entries(req.headers)) {
        if (h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type' && typeof v === 'string') {
          (entry.checksums ??= {})[h.slice('x-amz-checksum-'.length)] = v;
        }
      }
    }
  }
  if (/100-continue/i.test(String(req.headers.expect ?? ''))) entry.expectContinue = true;
  return entry;
}

const S3_CODES: Record<number, [string, string]> = {
  403: ['AccessDenied', 'Access Denied'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  503: ['SlowDown', 'Please reduce your request rate.'],
};
const SQS_CODES: Record<number, [string, string]> = {
  403: ['AccessDenied', 'Access to the resource is denied.'],
  500: ['InternalFailure', 'The request processing has failed because of an unknown error.'],
  503: ['ServiceUnavailable', 'The request has failed due to a temporary failure of the server.'],
};

/** An error answer in the protocol of the request (S3 REST-XML or SQS JSON). */
export function sendError(req: http.IncomingMessage, res: http.ServerResponse, entry: FakeAwsRequest, status: number, code?: string): void {
  if (entry.service === 'sqs') {
    const [defCode, message] = SQS_CODES[status] ?? ['InternalFailure', `injected ${status}`];
    const c = code ?? defCode;
    const body = JSON.stringify({ __type: `com.amazonaws.sqs#${c}`, message });
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': `AWS.SimpleQueueService.${c};${status < 500 ? 'Sender' : 'Receiver'}`,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  const [defCode, message] = S3_CODES[status] ?? ['InternalError', `injected ${status}`];
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code ?? defCode}</Code><Message>${message}</Message>` +
    `<RequestId>FAKEAWS0000000</RequestId><HostId>fake-aws</HostId></Error>`;
  if (req.method === 'HEAD') {
    res.writeHead(status, { 'x-amz-request-id': 'FAKEAWS0000000' });
    res.end();
  } else {
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'FAKEAWS0000000' });
    res.end(body);
  }
}

/** Passes a request on to fauxqs and its answer back; a client that gives up first is recorded as `aborted`. */
export function forward(upstream: { url: URL; agent: http.Agent }, req: http.IncomingMessage, res: http.ServerResponse, entry: FakeAwsRequest): void {
  const headers = { ...req.headers };
  delete headers.expect; // the proxy already answered 100-continue
  const { hostname: host, port } = upstream.url;
  const up = http.request({ host, port, method: req.method, path: req.url, headers, agent: upstream.agent }, (upRes) => {
    entry.status = upRes.statusCode;
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    upRes.pipe(res);
  });
  up.on('error', () => res.destroy());
  res.on('close', () => {
    if (!res.writableFinished) {
      entry.status ??= 'aborted';
      up.destroy();
    }
  });
  req.pipe(up);
}
