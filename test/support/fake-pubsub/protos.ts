/** The `google.pubsub.v1` service definitions, loaded once from the protos shipped inside @google-cloud/pubsub. */
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

function protoDirs(): { pubsub: string; gax: string } {
  // Both packages restrict `package.json` via "exports"; their entry points are in build/src.
  const pubsub = path.join(path.dirname(require.resolve('@google-cloud/pubsub')), '..', 'protos');
  const gax = path.join(path.dirname(require.resolve('google-gax')), '..', 'protos');
  return { pubsub, gax };
}

export interface PubSubServices {
  Publisher: grpc.ServiceDefinition;
  Subscriber: grpc.ServiceDefinition;
}

let cachedServices: PubSubServices | undefined;

export function loadServices(): PubSubServices {
  if (cachedServices) return cachedServices;
  const dirs = protoDirs();
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', {
    includeDirs: [dirs.pubsub, dirs.gax],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = (name: string) => {
    const def = definition[`google.pubsub.v1.${name}`];
    if (!def) throw new Error(`google.pubsub.v1.${name} is missing from the protos`);
    return def as grpc.ServiceDefinition;
  };
  cachedServices = { Publisher: service('Publisher'), Subscriber: service('Subscriber') };
  return cachedServices;
}
