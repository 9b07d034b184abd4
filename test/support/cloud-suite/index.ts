/**
 * The server-level tests of a cloud setup (storage + publisher against their
 * fakes, test/support/cloud-setups), shared by the GCS + Pub/Sub and S3 + SQS
 * test files so that jest runs them in parallel: the steady-state suite
 * (server-tests.ts), store-and-forward through an outage (outage.ts) and
 * starting while a backend is down (start-during-outage.ts).
 */
export { cloudServerTests } from './server-tests';
export { outageTest } from './outage';
export { startDuringOutageTests } from './start-during-outage';
