/** Starting while a backend is down, with and without the spool (issue 12; test/support/cloud-suite). */
import { startAwsSetup } from '../support/cloud-setups';
import { startDuringOutageTests } from '../support/cloud-suite';

jest.setTimeout(90_000);

startDuringOutageTests(() => startAwsSetup('start-aws'));
