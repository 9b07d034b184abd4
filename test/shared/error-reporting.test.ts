import { releaseFrom, scrubEvent } from '../../src/shared/error-reporting';

/** Every header named in issue 12 that identifies a client or carries a credential, plus one nobody has thought of yet. */
const CLIENT_HEADERS = {
  'X-Forwarded-For': '203.0.113.1',
  'x-real-ip': '203.0.113.2',
  Forwarded: 'for=203.0.113.3;proto=https',
  'True-Client-IP': '203.0.113.4',
  'CF-Connecting-IP': '203.0.113.5',
  'X-Client-IP': '203.0.113.6',
  Authorization: 'Bearer t',
  'Proxy-Authorization': 'Basic cHJveHk6c2VjcmV0',
  'X-Api-Key': 'api-key-1',
  cookie: 'c=d',
  'X-Whatever-Secret': 'whatever-1',
  Host: 'collector.internal:8000',
};

describe('scrubEvent', () => {
  it('keeps only the allowlisted headers, whatever else the client sent', () => {
    const event = scrubEvent({
      request: {
        headers: {
          ...CLIENT_HEADERS,
          'User-Agent': 'ua',
          'Content-Type': 'multipart/form-data; boundary=x',
          'content-length': '12',
          'Content-Encoding': 'gzip',
        },
      },
    });
    expect(event.request).toEqual({
      headers: { 'User-Agent': 'ua', 'Content-Type': 'multipart/form-data; boundary=x', 'content-length': '12', 'Content-Encoding': 'gzip' },
    });
  });

  it('keeps method and path; drops the body, cookies, env, query string, user, breadcrumbs, extra and frame variables', () => {
    const event = scrubEvent({
      request: {
        method: 'POST',
        url: 'https://user:pw@collector.example/submit?token=sekrit#frag',
        query_string: 'token=sekrit',
        data: 'annotations',
        cookies: { a: 'b' },
        env: { REMOTE_ADDR: '1.2.3.4' },
        headers: { 'User-Agent': 'ua' },
      },
      user: { ip_address: '1.2.3.4', id: 'x' },
      breadcrumbs: [{ message: 'GET /x?token=sekrit' }],
      extra: { body: 'annotations' },
      exception: { values: [{ stacktrace: { frames: [{ vars: { secret: 1 } }, {}] } }] },
    });
    expect(event.request).toEqual({ method: 'POST', url: 'https://collector.example/submit', headers: { 'User-Agent': 'ua' } });
    expect(event).not.toHaveProperty('user');
    expect(event).not.toHaveProperty('breadcrumbs');
    expect(event).not.toHaveProperty('extra');
    expect(event.exception!.values![0]!.stacktrace!.frames).toEqual([{}, {}]);
    expect(JSON.stringify(event)).not.toMatch(/sekrit|1\.2\.3\.4|annotations|pw@/);
  });

  it('takes the release from version.json: version, else commit', () => {
    expect(releaseFrom({ version: '1.2', commit: 'abc' })).toBe('1.2');
    expect(releaseFrom({ commit: 'abc' })).toBe('abc');
    expect(releaseFrom({})).toBeUndefined();
  });
});
