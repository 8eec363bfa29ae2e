/** Start a server listening, with an error that says which service and address failed (a port in
 * use is the common case, and the raw EADDRINUSE does not say which of the gateway's ports it was). */
import type { Server } from 'node:net';

export function listen(server: Server, port: number, host: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error): void => reject(new Error(`cannot listen for ${what} on ${host}:${port}: ${err.message}`));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
