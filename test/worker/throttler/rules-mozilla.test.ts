import { MOZILLA_PRODUCT_PACKAGENAMES, MOZILLA_PRODUCTS } from '../../../src/shared/mozilla-products';
import type { ThrottlerContext } from '../../../src/worker/throttler/rule';
import { isInfobarTrue, isOldBuildId, isUnsupportedWindows, MOZILLA_RULES } from '../../../src/worker/throttler/rules-mozilla';
import { throttle } from '../../../src/worker/throttler/throttler';

// Cases follow Antenna's tests/test_throttler.py so behaviour stays identical.
const now = () => new Date('2020-05-27T12:00:00Z');
const allProducts: ThrottlerContext = { products: [], productPackageNames: {}, now };
const mozilla: ThrottlerContext = { products: MOZILLA_PRODUCTS, productPackageNames: MOZILLA_PRODUCT_PACKAGENAMES, now };
const run = (crash: Record<string, unknown>, c = allProducts, random = 0.5) => {
  const d = throttle(MOZILLA_RULES, crash, c, () => random);
  return [d.result, d.ruleName, d.percentage];
};

describe('mozilla rule set', () => {
  it('keeps Antenna’s rule order', () => {
    expect(MOZILLA_RULES.map((r) => r.name)).toEqual([
      'has_old_buildid',
      'has_hangid_and_browser',
      'infobar_is_true',
      'b2g',
      'unsupported_product',
      'unsupported_packagename',
      'throttleable_0',
      'has_comments',
      'has_phc',
      'is_background',
      'is_shutdownkill',
      'is_firefox_esr_unsupported_windows',
      'is_alpha_beta_esr',
      'is_nightly',
      'is_firefox_desktop',
      'accept_everything',
    ]);
  });

  it('null annotations fall through to accept_everything', () => {
    expect(run({ ProductName: null, Version: null, BuildID: null, ReleaseChannel: null })).toEqual(['ACCEPT', 'accept_everything', 100]);
  });

  it.each([
    ['20170101000000', true],
    ['20180528000000', true],
    ['20180529000000', false],
    ['20200527000000', false],
    ['', false],
    ['None', false],
    ['abc', false],
    ['20220404', false],
    ['11111111111111', false],
    ['20181340000000', false],
  ])('has_old_buildid: BuildID %s → %s', (buildId, expected) => {
    expect(isOldBuildId({ BuildID: buildId }, allProducts)).toBe(expected);
  });

  it('rejects old builds, browser hangs and infobar crashes', () => {
    expect(run({ ProductName: 'FireSquid', BuildID: '20170505000000' })).toEqual(['REJECT', 'has_old_buildid', 100]);
    expect(run({ ProductName: 'FireSquid', Version: '99', ProcessType: 'browser', HangID: 'xyz' })).toEqual(['REJECT', 'has_hangid_and_browser', 100]);
    expect(run({ ProductName: 'FireSquid', HangID: 'xyz' })).toEqual(['REJECT', 'has_hangid_and_browser', 100]);
    expect(run({ ProductName: 'FireSquid', HangID: 'xyz', ProcessType: 'content' })).toEqual(['ACCEPT', 'accept_everything', 100]);
    const infobar = { ProductName: 'Firefox', SubmittedFromInfobar: 'true', Version: '52.0.2', BuildID: '20191223222554' };
    expect(run({ ...infobar, BuildID: '20171223222554' }, { ...allProducts, now: () => new Date('2019-05-27T12:00:00Z') })).toEqual([
      'REJECT',
      'infobar_is_true',
      100,
    ]);
  });

  it.each([
    ['51.0', false],
    ['60.0', false],
    ['59.0', true],
    ['57.0.2', true],
    ['52.0', true],
  ])('infobar_is_true: Version %s → %s', (v, e) => {
    expect(isInfobarTrue({ ProductName: 'Firefox', SubmittedFromInfobar: 'true', BuildID: '20171128222554', Version: v })).toBe(e);
  });

  it('infobar_is_true needs all four fields and the BuildID range', () => {
    const base = { ProductName: 'Firefox', SubmittedFromInfobar: 'true', BuildID: '20171128222554', Version: '57.0' };
    expect(isInfobarTrue({ ...base, ProductName: 'FishSplat' })).toBe(false);
    expect(isInfobarTrue({ ...base, SubmittedFromInfobar: 'false' })).toBe(false);
    expect(isInfobarTrue({ ...base, BuildID: '20171226003912' })).toBe(false);
    const { BuildID: _b, ...noBuild } = base;
    expect(isInfobarTrue(noBuild)).toBe(false);
  });

  it.each(['', 'firefox', 'testproduct', null])('unsupported_product rejects ProductName %p', (name) => {
    expect(run({ ProductName: name }, mozilla)).toEqual(['REJECT', 'unsupported_product', 100]);
  });

  it('b2g is fake-accepted; an empty product list disables the product rule', () => {
    expect(run({ ProductName: 'b2g' }, mozilla)).toEqual(['FAKEACCEPT', 'b2g', 100]);
    expect(run({ ProductName: 'testproduct' })).toEqual(['ACCEPT', 'accept_everything', 100]);
  });

  it.each([
    ['Fenix', 'org.mozilla.firefox'],
    ['Focus', 'org.mozilla.focus'],
    ['ReferenceBrowser', 'org.mozilla.reference.browser'],
    ['Thunderbird', 'org.example.fork'],
  ])('accepts %s with package %s', (product, pkg) => {
    expect(run({ ProductName: product, Android_PackageName: pkg }, mozilla)).toEqual(['ACCEPT', 'accept_everything', 100]);
  });

  it.each([
    ['Fenix', ''],
    ['Fenix', 'org.example.fork'],
    ['Focus', 'org.example.fork'],
    ['Fenix', undefined],
  ])('unsupported_packagename rejects %s with package %p', (product, pkg) => {
    const crash: Record<string, unknown> = { ProductName: product };
    if (pkg !== undefined) crash.Android_PackageName = pkg;
    expect(run(crash, mozilla)).toEqual(['REJECT', 'unsupported_packagename', 100]);
  });

  it('an empty package map disables the package rule', () => {
    const c = { ...mozilla, productPackageNames: {} };
    expect(run({ ProductName: 'Fenix' }, c)).toEqual(['ACCEPT', 'accept_everything', 100]);
    expect(run({ ProductName: 'Fenix', Android_PackageName: 'org.example.fork' }, c)).toEqual(['ACCEPT', 'accept_everything', 100]);
  });

  it('accepts Throttleable=0, comments and PHC', () => {
    expect(run({ ProductName: 'Test', Throttleable: '0' })).toEqual(['ACCEPT', 'throttleable_0', 100]);
    expect(run({ ProductName: 'Test', Throttleable: '1' })[1]).not.toBe('throttleable_0');
    expect(run({ ProductName: 'Test', Comments: 'foo bar baz' })).toEqual(['ACCEPT', 'has_comments', 100]);
    expect(run({ ProductName: 'Test', PHCKind: 'some value' })).toEqual(['ACCEPT', 'has_phc', 100]);
  });

  it.each([
    [undefined, 'accept_everything'],
    ['', 'accept_everything'],
    ['content', 'accept_everything'],
    ['gpu', 'is_background'],
    ['rdd', 'is_background'],
    ['plugin', 'is_background'],
    ['utility', 'is_background'],
    ['socket', 'is_background'],
  ])('ProcessType %p → %s', (pt, rule) => {
    const crash: Record<string, unknown> = { ProductName: 'BarTest' };
    if (pt !== undefined) crash.ProcessType = pt;
    expect(run(crash)).toEqual(['ACCEPT', rule, 100]);
  });

  it('is_shutdownkill keeps 10%, which then continue through the rules', () => {
    const crash = { ProductName: 'Firefox', ipc_channel_error: 'ShutDownKill' };
    expect(run(crash, allProducts, 0.9)).toEqual(['REJECT', 'is_shutdownkill', 10]);
    expect(run(crash, allProducts, 0.05)).toEqual(['ACCEPT', 'accept_everything', 100]);
  });

  const telemetry = (build: unknown) => JSON.stringify({ system: { os: { name: 'Windows_NT', windowsBuildNumber: build } } });

  it.each([
    [{}],
    [{ TelemetryEnvironment: '{}' }],
    [{ TelemetryEnvironment: '{"system":{}}' }],
    [{ TelemetryEnvironment: '{"system":{"os":{}}}' }],
    [{ TelemetryEnvironment: '{"system":{"os":{"name":""}}}' }],
    [{ TelemetryEnvironment: '{"system":{"os":{"name":"Windows_NT"}}}' }],
    [{ TelemetryEnvironment: telemetry('') }],
    [{ TelemetryEnvironment: telemetry(null) }],
    [{ TelemetryEnvironment: 'not json' }],
    [{ TelemetryEnvironment: '5' }],
  ])('unsupported windows: missing or bad data %p → false', (crash) => {
    expect(isUnsupportedWindows(crash)).toBe(false);
  });

  it.each([
    [7601, true],
    [9200, true],
    [9600, true],
    [10240, false],
  ])('windowsBuildNumber %d → %s', (build, expected) => {
    expect(isUnsupportedWindows({ TelemetryEnvironment: telemetry(build) })).toBe(expected);
  });

  it('samples Firefox ESR on old Windows at 25% and Firefox release at 10%', () => {
    const esr = { ProductName: 'Firefox', ReleaseChannel: 'esr', TelemetryEnvironment: telemetry(9600) };
    expect(run(esr, allProducts, 0.3)).toEqual(['REJECT', 'is_firefox_esr_unsupported_windows', 25]);
    expect(run(esr, allProducts, 0.2)).toEqual(['ACCEPT', 'is_alpha_beta_esr', 100]);
    const release = { ProductName: 'Firefox', ReleaseChannel: 'release' };
    expect(run(release, allProducts, 0.09)).toEqual(['ACCEPT', 'is_firefox_desktop', 10]);
    expect(run(release, allProducts, 0.11)).toEqual(['REJECT', 'is_firefox_desktop', 10]);
  });

  it.each([
    ['aurora', 'is_alpha_beta_esr'],
    ['beta', 'is_alpha_beta_esr'],
    ['esr', 'is_alpha_beta_esr'],
    ['nightly', 'is_nightly'],
    ['nightly-cedar', 'is_nightly'],
    ['release', 'accept_everything'],
  ])('ReleaseChannel %s of another product → %s', (channel, rule) => {
    expect(run({ ProductName: 'Test', ReleaseChannel: channel })).toEqual(['ACCEPT', rule, 100]);
  });
});
