import { removeDataDirs, startServer, type Server, type ServerKind } from '../../bench/lib/servers';

/**
 * Starts bench servers for the tests of the enclosing describe block: each
 * test's server is stopped after it, and their temporary directories are
 * removed after the block.
 */
export function benchServers(): { start(kind: ServerKind, workers: number): Promise<Server> } {
  let server: Server | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(() => removeDataDirs());
  return {
    async start(kind, workers) {
      server = await startServer(kind, { workers, collectorEnv: {} });
      return server;
    },
  };
}
