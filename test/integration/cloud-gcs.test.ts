/** The real server against the GCS and Pub/Sub fakes (test/support/cloud-suite). */
import { startGcsSetup } from '../support/cloud-setups';
import { cloudServerTests } from '../support/cloud-suite';

jest.setTimeout(120_000);

cloudServerTests(() => startGcsSetup('cloud'));
