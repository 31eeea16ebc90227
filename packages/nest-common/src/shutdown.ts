/**
 * Runs `close` once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it failed or
 * took longer than `timeoutMs` (a stuck drain must not keep a deployment from rolling).
 */
export function closeOnSignals(close: () => Promise<void>, log: (message: string) => void, timeoutMs = 30_000): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log(`shutdown took longer than ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs);
    force.unref();
    try {
      await close();
      process.exit(0);
    } catch (error) {
      log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Entry-point wrapper: a failed start prints one readable line and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
