/**
 * A TCP relay in front of the fake's gRPC server, so that a "dropped
 * connection" is a real one: the relay destroys the client's sockets.
 */
import { once } from 'node:events';
import net from 'node:net';

export interface Relay {
  port: number;
  /** Destroys every client connection (and its upstream twin). */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startRelay(upstreamPort: number): Promise<Relay> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const teardown = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const port = (relay.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const [client, upstream] of [...pairs]) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    dropAll,
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        relay.close(() => resolve());
      }),
  };
}
