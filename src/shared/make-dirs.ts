import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` that fails instead of hanging: node's `mkdir(dir, {recursive: true})`
 * never settles for a path under a filesystem that refuses new entries with
 * ENOENT (seen under /proc, node 20), which hung start-up silently. This walks
 * up to the first existing ancestor, then makes each missing level once.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); ;) {
    try {
      if (!(await stat(current)).isDirectory()) {
        throw Object.assign(new Error(`${current} exists and is not a directory`), { code: 'ENOTDIR', path: current });
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(current);
      const parent = path.dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
