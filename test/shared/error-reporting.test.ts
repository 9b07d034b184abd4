import { releaseFrom, scrubEvent } from '../../src/shared/error-reporting';

describe('scrubEvent', () => {
  it('removes the body, cookies, env, client headers, the user IP and frame variables', () => {
    const event = scrubEvent({
      request: {
        data: 'annotations',
        cookies: { a: 'b' },
        env: { REMOTE_ADDR: '1.2.3.4' },
        headers: { 'X-Forwarded-For': '1.2.3.4', 'x-real-ip': '1.2.3.5', Authorization: 'Bearer t', cookie: 'c=d', 'User-Agent': 'ua' },
      },
      user: { ip_address: '1.2.3.4', id: 'x' },
      exception: { values: [{ stacktrace: { frames: [{ vars: { secret: 1 } }, {}] } }] },
    });
    expect(event.request).toEqual({ headers: { 'User-Agent': 'ua' } });
    expect(event.user).toEqual({ id: 'x' });
    expect(event.exception!.values![0]!.stacktrace!.frames).toEqual([{}, {}]);
  });

  it('takes the release from version.json: version, else commit', () => {
    expect(releaseFrom({ version: '1.2', commit: 'abc' })).toBe('1.2');
    expect(releaseFrom({ commit: 'abc' })).toBe('abc');
    expect(releaseFrom({})).toBeUndefined();
  });
});
