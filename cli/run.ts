/**
 * How a long-running command (`lampnet sim`, `gateway`, `up`) lives: it prints what it serves and
 * then `ready`, runs until SIGINT or SIGTERM, stops, and exits 0; a stop that hangs exits 1.
 * Scripts and tests wait for `ready` and then signal, so this contract is the same for every command.
 */

/** How long a stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

export interface Service {
  close(): Promise<void>;
}

/** Print `banner` and `ready`, call `onReady` (what the command prints from then on starts there),
 * then serve until a signal, close `service` and exit the process. */
export async function serveUntilSignal(name: string, service: Service, banner: string, onReady: () => void = () => {}): Promise<never> {
  // Listening before `ready`, so a signal sent on seeing it stops the service cleanly. `on`, not
  // `once`: one Ctrl-C can arrive twice (from the terminal to the whole process group, and forwarded
  // by npm or npx), and the second must not kill a process that is still closing.
  const stopped = new Promise<void>((resolve) => {
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });
  // A pending promise does not keep Node running: without this, a service with no handle of its
  // own (`lampnet sim --link memory` with stdin at its end) would exit right after `ready`.
  const alive = setInterval(() => {}, 2 ** 30);
  console.log(banner);
  console.log('ready');
  onReady();
  await stopped;
  clearInterval(alive);
  // A close that hangs must not leave a process the user believes stopped.
  setTimeout(() => {
    console.error(`${name}: did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting`);
    process.exit(1);
  }, STOP_TIMEOUT_MS).unref();
  await service.close();
  console.log(`${name}: stopped`);
  // Some handles (a TUN device's poll, a lingering socket) must not keep a stopped process alive.
  process.exit(0);
}
