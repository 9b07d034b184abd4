import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

test('package.json engines, .nvmrc, the Dockerfile and the README name the same Node major', () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const major = /^>=(\d+)/.exec(engines)![1];
  expect(read('.nvmrc').trim()).toBe(major);
  for (const [, image] of read('Dockerfile').matchAll(/^FROM node:(\d+)/gm)) expect(image).toBe(major);
  expect(read('README.md')).toContain(`Needs Node.js ${major} or later`);
  // What the cloud client libraries declare: never less than they need.
  for (const dep of ['@google-cloud/storage', '@google-cloud/pubsub']) {
    const needs = (JSON.parse(read(`node_modules/${dep}/package.json`)) as { engines?: { node?: string } }).engines?.node ?? '';
    const depMajor = Number(/(\d+)/.exec(needs)?.[1] ?? 0);
    expect([dep, Number(major) >= depMajor]).toEqual([dep, true]);
  }
});
