/** The real server against S3 and SQS (fauxqs behind test/support/fake-aws; test/support/cloud-suite). */
import { startAwsSetup } from '../support/cloud-setups';
import { cloudServerTests } from '../support/cloud-suite';

jest.setTimeout(120_000);

cloudServerTests(() => startAwsSetup('cloud'));
