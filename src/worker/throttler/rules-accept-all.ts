import type { Rule } from './rule';

/** `accept_all`: keep every crash (Antenna's `ACCEPT_ALL`). */
export const ACCEPT_ALL_RULES: readonly Rule[] = [{ name: 'accept_everything', key: '*', condition: () => true, result: 'ACCEPT' }];
