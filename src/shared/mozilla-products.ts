/** Products Mozilla's collector accepts (`BREAKPAD_THROTTLER_PRODUCTS=mozilla`). */
export const MOZILLA_PRODUCTS: readonly string[] = ['Fenix', 'Firefox', 'Firefox Enterprise', 'Focus', 'MozillaVPN', 'ReferenceBrowser', 'Thunderbird'];

/** Android package names per product (`BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES=mozilla`). */
export const MOZILLA_PRODUCT_PACKAGENAMES: Readonly<Record<string, readonly string[]>> = {
  Fenix: ['org.mozilla.firefox', 'org.mozilla.firefox_beta', 'org.mozilla.fenix'],
  Focus: ['org.mozilla.focus', 'org.mozilla.focus.beta', 'org.mozilla.focus.nightly', 'org.mozilla.klar'],
  ReferenceBrowser: ['org.mozilla.reference.browser'],
};
