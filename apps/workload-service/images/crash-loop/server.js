'use strict';
// local/crash-loop:1 — exits with code 1 shortly after start (CRASH_AFTER_MS, default 200),
// for tests of restarts, backoff and crash-loop detection.
const delay = Math.max(0, Number(process.env.CRASH_AFTER_MS) || 200);
process.stderr.write(`crash-loop ${process.env.REPLICA_NAME || ''}: exiting in ${delay} ms\n`);
setTimeout(() => process.exit(1), delay);
