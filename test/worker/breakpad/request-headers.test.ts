import { checkSubmitHeaders, MAX_BOUNDARY_LENGTH } from '../../../src/worker/breakpad/request-headers';
import { Rejection } from '../../../src/worker/breakpad/rejection';

const MAX = 26214400;

function rejection(headers: Record<string, string>): Rejection {
  try {
    checkSubmitHeaders(headers, MAX);
  } catch (err) {
    return err as Rejection;
  }
  throw new Error('expected a rejection');
}

describe('checkSubmitHeaders', () => {
  it('rejects a missing content type', () => {
    expect(rejection({ 'content-length': '10' }).body).toBe('Discarded=malformed_no_content_type');
  });
  it('rejects a non-multipart content type', () => {
    expect(rejection({ 'content-type': 'application/json', 'content-length': '10' }).body).toBe('Discarded=malformed_wrong_content_type');
  });
  it('rejects multipart without boundary', () => {
    expect(rejection({ 'content-type': 'multipart/form-data', 'content-length': '10' }).body).toBe('Discarded=malformed_no_boundary');
    expect(rejection({ 'content-type': 'multipart/mixed; charset=utf-8', 'content-length': '10' }).body).toBe('Discarded=malformed_no_boundary');
  });
  it('rejects a boundary longer than the parser can search for, as no boundary', () => {
    const type = (n: number) => `multipart/form-data; boundary="${'b'.repeat(n)}"`;
    expect(checkSubmitHeaders({ 'content-type': type(MAX_BOUNDARY_LENGTH), 'content-length': '10' }, MAX).boundary).toHaveLength(MAX_BOUNDARY_LENGTH);
    expect(rejection({ 'content-type': type(MAX_BOUNDARY_LENGTH + 1), 'content-length': '10' }).body).toBe('Discarded=malformed_no_boundary');
  });
  it('rejects Content-Length 0 and a body with no length nor chunking', () => {
    const ct = { 'content-type': 'multipart/form-data; boundary=x' };
    expect(rejection({ ...ct, 'content-length': '0' }).body).toBe('Discarded=malformed_no_content_length');
    expect(rejection(ct).body).toBe('Discarded=malformed_no_content_length');
  });
  it('accepts exactly the limit and refuses one byte more with 413', () => {
    const ct = { 'content-type': 'multipart/form-data; boundary=x' };
    expect(checkSubmitHeaders({ ...ct, 'content-length': String(MAX) }, MAX).contentLength).toBe(MAX);
    const r = rejection({ ...ct, 'content-length': String(MAX + 1) });
    expect([r.status, r.body]).toEqual([413, 'Discarded=too_large']);
  });
  it('parses boundary, mixed, quoted boundary, gzip and chunked', () => {
    const h = checkSubmitHeaders({ 'content-type': 'Multipart/Mixed; boundary="a b"', 'transfer-encoding': 'chunked', 'content-encoding': 'gzip' }, MAX);
    expect(h).toEqual({ mediaType: 'multipart/mixed', boundary: 'a b', compressed: true, contentLength: undefined });
  });
});
