import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderConfigDoc } from './config-doc';
import { renderMetricsDoc } from './metrics-doc';

/** Writes the generated reference docs (`npm run docs`). */
const root = path.resolve(__dirname, '..', '..');
const docs: Record<string, string> = {
  'docs/configuration.md': renderConfigDoc(),
  'docs/metrics.md': renderMetricsDoc(),
};
for (const [file, text] of Object.entries(docs)) {
  writeFileSync(path.join(root, file), text);
  process.stdout.write(`wrote ${file}\n`);
}
