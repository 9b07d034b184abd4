/** The raw-socket client's response parser: an answer is counted only when it is complete. */
import { parseResponse } from '../../chaos/lib/wire';

const b = (s: string) => Buffer.from(s, 'latin1');

test('a Content-Length answer is complete only with all its bytes', () => {
  expect(parseResponse(b('HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nDisc'), false)).toBeUndefined();
  expect(parseResponse(b('HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nDisca'), false)).toMatchObject({ status: 400, body: b('Disca') });
});

test('100 Continue is skipped; the final answer counts', () => {
  expect(parseResponse(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc'), false)).toMatchObject({
    status: 200,
    body: b('abc'),
  });
  expect(parseResponse(b('HTTP/1.1 100 Continue\r\n\r\n'), true)).toBeUndefined();
});

test('a chunked answer needs its last chunk; an answer without length needs the close', () => {
  expect(parseResponse(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'), false)).toBeUndefined();
  expect(parseResponse(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'), false)).toMatchObject({ body: b('abc') });
  expect(parseResponse(b('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'), false)).toBeUndefined();
  expect(parseResponse(b('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'), true)).toMatchObject({ status: 400 });
});

test('bytes that are not HTTP are no answer', () => {
  expect(parseResponse(b('garbage\r\n\r\n'), true)).toBeUndefined();
});
