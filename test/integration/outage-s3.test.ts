/** Store-and-forward through an S3 + SQS outage of a minute (issue 7; test/support/cloud-suite). */
import { startAwsSetup } from '../support/cloud-setups';
import { outageTest } from '../support/cloud-suite';

/** How long storage and publishing are down (the issue asks for a minute). */
const OUTAGE_MS = 60_000;

jest.setTimeout(OUTAGE_MS + 180_000);

outageTest(() => startAwsSetup('outage'), OUTAGE_MS);
