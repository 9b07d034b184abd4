import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SECTIONS } from '../../src/shared/config';
import { renderConfigDoc } from '../../src/tools/config-doc';
import { renderMetricsDoc } from '../../src/tools/metrics-doc';

const read = (f: string) => readFileSync(path.join(__dirname, '..', '..', f), 'utf8');

describe('generated docs are current (run `npm run docs` after changing options)', () => {
  it('docs/configuration.md matches the option definitions', () => {
    expect(read('docs/configuration.md')).toBe(renderConfigDoc());
  });

  it('docs/metrics.md matches the metric catalog', () => {
    expect(read('docs/metrics.md')).toBe(renderMetricsDoc());
  });

  it('documents every variable of SPEC §6', () => {
    const doc = read('docs/configuration.md');
    const spec = [
      'PORT',
      'HOSTNAME',
      'LOGGING_LEVEL',
      'LOCAL_DEV_ENV',
      'STATSD_HOST',
      'STATSD_PORT',
      'STATSD_NAMESPACE',
      'SECRET_SENTRY_DSN',
      'BREAKPAD_DUMP_FIELD',
      'BREAKPAD_STAGE_SUBMITTER_BEARER_TOKEN',
      'BREAKPAD_THROTTLER_RULES',
      'BREAKPAD_THROTTLER_PRODUCTS',
      'BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES',
      'CRASHMOVER_CRASHSTORAGE_CLASS',
      'CRASHMOVER_CRASHSTORAGE_FS_ROOT',
      'CRASHMOVER_CRASHSTORAGE_BUCKET_NAME',
      'CRASHMOVER_CRASHPUBLISH_CLASS',
      'CRASHMOVER_CRASHPUBLISH_PROJECT_ID',
      'CRASHMOVER_CRASHPUBLISH_TOPIC_NAME',
      'CRASHMOVER_CRASHPUBLISH_TIMEOUT',
      'CRASHMOVER_MAX_ATTEMPTS',
      'CRASHMOVER_RETRY_SLEEP_SECONDS',
      'CRASHMOVER_CONCURRENT_CRASHMOVERS',
      'STORAGE_EMULATOR_HOST',
      'PUBSUB_EMULATOR_HOST',
      'WORKERS',
      'GUNICORN_WORKERS',
    ];
    for (const name of spec) expect(doc).toContain(`\`${name}\``);
    const count = Object.values(SECTIONS).reduce((n, s) => n + Object.keys(s.options).length, 0);
    expect(doc.split('\n').filter((l) => l.startsWith('| `')).length).toBe(count);
  });
});
