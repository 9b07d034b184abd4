import { timingSafeEqual } from 'node:crypto';

/**
 * Whether the request carries `Authorization: Bearer <token>` matching the
 * configured token, compared in constant time. No token configured: nobody.
 */
export function isStageSubmitter(authorization: string | undefined, configuredToken: string): boolean {
  if (!configuredToken || !authorization?.startsWith('Bearer ')) return false;
  const given = Buffer.from(authorization.slice('Bearer '.length));
  const expected = Buffer.from(configuredToken);
  // timingSafeEqual needs equal lengths; compare against ourselves to keep the time flat.
  if (given.length !== expected.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(given, expected);
}
