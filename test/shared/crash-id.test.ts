import { crashIdDate, createCrashId, isValidCrashId } from '../../src/shared/crash-id';

describe('crash ids', () => {
  it('ends with the throttle digit and the UTC date YYMMDD', () => {
    const date = new Date('2016-09-18T23:59:59.999Z');
    const accept = createCrashId(date, 0);
    const defer = createCrashId(date, 1);
    expect(accept).toMatch(/^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[a-f0-9]{4}-[a-f0-9]{5}0160918$/);
    expect(defer.slice(-7)).toBe('1160918');
    expect(crashIdDate(accept)).toBe('20160918');
    expect(isValidCrashId(accept)).toBe(true);
    expect(createCrashId(date, 0)).not.toBe(accept);
  });

  it('validates shape and throttle digit', () => {
    expect(isValidCrashId('de1bb258-cbbf-4589-a673-34f800160918')).toBe(true);
    expect(isValidCrashId('de1bb258-cbbf-4589-a673-34f801160918')).toBe(true);
    expect(isValidCrashId('de1bb258-cbbf-4589-a673-34f802160918')).toBe(false);
    expect(isValidCrashId('de1bb258-cbbf-4589-a673-34f80016091')).toBe(false);
    expect(isValidCrashId('DE1BB258-cbbf-4589-a673-34f800160918')).toBe(false);
    expect(isValidCrashId(42)).toBe(false);
  });
});
