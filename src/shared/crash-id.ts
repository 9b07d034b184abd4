import { randomUUID } from 'node:crypto';

export const THROTTLE_ACCEPT_DIGIT = 0;
export const THROTTLE_DEFER_DIGIT = 1;

const CRASH_ID_RE = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6}$/;

const pad2 = (n: number) => n.toString().padStart(2, '0');

/**
 * A random UUID4 whose last 7 hex characters are replaced by the throttle
 * digit and the UTC date YYMMDD.
 */
export function createCrashId(date: Date, throttleDigit: 0 | 1): string {
  const id = randomUUID();
  const yymmdd = pad2(date.getUTCFullYear() % 100) + pad2(date.getUTCMonth() + 1) + pad2(date.getUTCDate());
  return `${id.slice(0, -7)}${throttleDigit}${yymmdd}`;
}

/** Whether `id` is a crash id with throttle digit 0 or 1. */
export function isValidCrashId(id: unknown): id is string {
  return typeof id === 'string' && CRASH_ID_RE.test(id) && (id[id.length - 7] === '0' || id[id.length - 7] === '1');
}

/** `YYYYMMDD` from the crash id's date suffix. */
export function crashIdDate(id: string): string {
  return '20' + id.slice(-6);
}
