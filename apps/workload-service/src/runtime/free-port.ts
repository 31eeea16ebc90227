import { createServer } from 'node:net';

function askOs(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * A TCP port the OS reports free on `host`, not in `taken` (ports this runtime already
 * handed out). Another process can still grab it before the replica binds; replicas that
 * exit with code 98 (EADDRINUSE) get a new port from the driver.
 */
export async function allocatePort(host: string, taken: ReadonlySet<number>, attempts = 20): Promise<number> {
  let lastError: unknown = null;
  for (let i = 0; i < attempts; i++) {
    try {
      const port = await askOs(host);
      if (!taken.has(port)) return port;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`no free port on ${host} after ${attempts} attempts${lastError ? `: ${String(lastError)}` : ''}`);
}
