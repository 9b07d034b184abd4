import { safeGet, type Rule, type ThrottlerContext } from './rule';

/**
 * `mozilla`: Antenna's production rule set (antenna/throttler.py
 * MOZILLA_RULES), rule for rule and in the same order, so dashboards keyed
 * on rule names keep working.
 */

type Crash = Record<string, unknown>;

const BUILDID_RE = /^20\d{12}$/;
const OLD_BUILD_DAYS = 730;
const DAY_MS = 86_400_000;

/** BuildID `YYYYMMDDhhmmss` whose date is more than two years in the past. */
export function isOldBuildId(crash: Crash, ctx: ThrottlerContext): boolean {
  const buildId = safeGet(crash, 'BuildID');
  if (!BUILDID_RE.test(buildId)) return false;
  const y = Number(buildId.slice(0, 4));
  const m = Number(buildId.slice(4, 6));
  const d = Number(buildId.slice(6, 8));
  const date = Date.UTC(y, m - 1, d);
  const parsed = new Date(date);
  // Not a real calendar date (e.g. month 13): not a build id we judge.
  if (parsed.getUTCFullYear() !== y || parsed.getUTCMonth() !== m - 1 || parsed.getUTCDate() !== d) return false;
  return date < ctx.now().getTime() - OLD_BUILD_DAYS * DAY_MS;
}

/** Bug 1426949: crashes submitted from the infobar by Firefox 52–59 before 2017-12-26. */
export function isInfobarTrue(crash: Crash): boolean {
  const product = safeGet(crash, 'ProductName');
  const infobar = safeGet(crash, 'SubmittedFromInfobar');
  const version = safeGet(crash, 'Version');
  const buildId = safeGet(crash, 'BuildID');
  if (!(product && infobar && version && buildId)) return false;
  return (
    product === 'Firefox' &&
    infobar === 'true' &&
    ['52.', '53.', '54.', '55.', '56.', '57.', '58.', '59.'].some((p) => version.startsWith(p)) &&
    buildId < '20171226'
  );
}

export function isB2g(crash: Crash, ctx: ThrottlerContext): boolean {
  return !ctx.products.includes('B2G') && safeGet(crash, 'ProductName').toLowerCase() === 'b2g';
}

export function isUnsupportedProduct(crash: Crash, ctx: ThrottlerContext): boolean {
  return ctx.products.length > 0 && !ctx.products.includes(safeGet(crash, 'ProductName'));
}

export function isUnsupportedPackageName(crash: Crash, ctx: ThrottlerContext): boolean {
  const packageNames = ctx.productPackageNames[safeGet(crash, 'ProductName')] ?? [];
  // An absent Android_PackageName reads as "None", as in Antenna: never a supported name.
  return packageNames.length > 0 && !packageNames.includes(safeGet(crash, 'Android_PackageName', null));
}

const WINDOWS_8_1_BUILD_NUMBER = 9600;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** TelemetryEnvironment says Windows_NT with a build number of Windows 8.1 or older. */
export function isUnsupportedWindows(crash: Crash): boolean {
  const text = safeGet(crash, 'TelemetryEnvironment');
  if (!text) return false;
  let env: unknown;
  try {
    env = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isObject(env) || !isObject(env.system) || !isObject(env.system.os)) return false;
  const os = env.system.os;
  if (os.name !== 'Windows_NT') return false;
  const build = os.windowsBuildNumber;
  return typeof build === 'number' && Number.isInteger(build) && build !== 0 && build <= WINDOWS_8_1_BUILD_NUMBER;
}

const BACKGROUND_PROCESS_TYPES = new Set(['gpu', 'plugin', 'rdd', 'socket', 'utility']);

export const MOZILLA_RULES: readonly Rule[] = [
  { name: 'has_old_buildid', key: '*', condition: isOldBuildId, result: 'REJECT' },
  {
    name: 'has_hangid_and_browser',
    key: '*',
    condition: (c: Crash) => 'HangID' in c && safeGet(c, 'ProcessType', 'browser') === 'browser',
    result: 'REJECT',
  },
  { name: 'infobar_is_true', key: '*', condition: isInfobarTrue, result: 'REJECT' },
  { name: 'b2g', key: '*', condition: isB2g, result: 'FAKEACCEPT' },
  { name: 'unsupported_product', key: '*', condition: isUnsupportedProduct, result: 'REJECT' },
  { name: 'unsupported_packagename', key: '*', condition: isUnsupportedPackageName, result: 'REJECT' },
  { name: 'throttleable_0', key: 'Throttleable', condition: (x: string) => x === '0', result: 'ACCEPT' },
  { name: 'has_comments', key: 'Comments', condition: () => true, result: 'ACCEPT' },
  { name: 'has_phc', key: 'PHCKind', condition: () => true, result: 'ACCEPT' },
  { name: 'is_background', key: 'ProcessType', condition: (x: string) => BACKGROUND_PROCESS_TYPES.has(x), result: 'ACCEPT' },
  { name: 'is_shutdownkill', key: 'ipc_channel_error', condition: (x: string) => x === 'ShutDownKill', result: [10, 'CONTINUE', 'REJECT'] },
  {
    name: 'is_firefox_esr_unsupported_windows',
    key: '*',
    condition: (c: Crash) => safeGet(c, 'ProductName') === 'Firefox' && safeGet(c, 'ReleaseChannel') === 'esr' && isUnsupportedWindows(c),
    result: [25, 'CONTINUE', 'REJECT'],
  },
  { name: 'is_alpha_beta_esr', key: 'ReleaseChannel', condition: (x: string) => ['aurora', 'beta', 'esr'].includes(x), result: 'ACCEPT' },
  { name: 'is_nightly', key: 'ReleaseChannel', condition: (x: string) => x.startsWith('nightly'), result: 'ACCEPT' },
  {
    name: 'is_firefox_desktop',
    key: '*',
    condition: (c: Crash) => safeGet(c, 'ProductName') === 'Firefox' && safeGet(c, 'ReleaseChannel') === 'release',
    result: [10, 'ACCEPT', 'REJECT'],
  },
  { name: 'accept_everything', key: '*', condition: () => true, result: 'ACCEPT' },
];
