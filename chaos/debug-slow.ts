import { CORPUS_SERVER_ENV, fuzzCase } from './lib/corpus';
import { exchange } from './lib/wire';
import { chaosTemp, cleanUpNow, freePort, startNode } from './lib/node';
import path from 'node:path';
async function main() {
  const port = await freePort();
  const node = await startNode({ ...CORPUS_SERVER_ENV, CRASHMOVER_CRASHSTORAGE_CLASS: 'fs', CRASHMOVER_CRASHSTORAGE_FS_ROOT: path.join(chaosTemp('dbg'), 'c') }, port);
  const from = Number(process.argv[2] ?? 0), n = Number(process.argv[3] ?? 150);
  await Promise.all(Array.from({ length: 8 }, async (_, k) => {
    for (let i = from + k; i < from + n; i += 8) {
      const f = fuzzCase(12, i);
      const a = await exchange(port, f.request, 40000);
      if (a.ms > 1500 || a.status >= 500 || (a.status === 0 && f.answerDue)) console.log(i, f.category, a.status, a.noAnswer ?? '', Math.round(a.ms), a.body.slice(0, 80).replace(/\n/g, ' '));
    }
  }));
  console.log('deaths', node.deaths());
  await node.stop();
  cleanUpNow();
}
void main();
