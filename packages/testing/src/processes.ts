import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /**
   * Everything it wrote since it started, not just the tail (capped at 256 MiB): stdout, then
   * stderr, each whole, so a line is never cut by the other stream's chunks.
   */
  fullOutput(): string;
  /** SIGTERM and wait; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL: a crash, no clean-up. */
  kill(): Promise<void>;
}

const FULL_OUTPUT_LIMIT = 256 * 1024 * 1024;

/** Starts `node <script>` with extra environment; keeps its output for failure messages. */
export function startNode(script: string, env: Record<string, string | undefined>, cwd?: string): RunningProcess {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // Whole-output checks (no token ever logged) must see every line, not the tail kept above.
  const streams = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  let kept = 0;
  const keep = (stream: keyof typeof streams) => (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if (kept + chunk.length <= FULL_OUTPUT_LIMIT) {
      streams[stream].push(chunk);
      kept += chunk.length;
    }
  };
  child.stdout!.on('data', keep('stdout'));
  child.stderr!.on('data', keep('stderr'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    fullOutput: () => `${Buffer.concat(streams.stdout).toString()}\n${Buffer.concat(streams.stderr).toString()}`,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
