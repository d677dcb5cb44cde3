import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

/** Small helpers shared by the load test and the benchmark (processes, timing, /proc readings). */

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

/** VmRSS of a process in MB, from /proc (Linux); undefined elsewhere or once it is gone. */
export function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

export const mb = (value: number | undefined): string => (value === undefined ? 'n/a' : `${value.toFixed(0)} MB`);

/** Polls `url`/health until it answers 200; fails when `gone()` says the process died, or after 60 s. */
export async function waitHealthy(url: string, what: string, gone: () => string | undefined): Promise<void> {
  await within(
    (async () => {
      for (;;) {
        const reason = gone();
        if (reason !== undefined) throw new Error(`${what} exited: ${reason}`);
        const up = await request(`${url}/health`).then(
          async (r) => {
            await r.body.dump();
            return r.statusCode === 200;
          },
          () => false,
        );
        if (up) return;
        await sleep(100);
      }
    })(),
    60_000,
    `${what} start`,
  );
}

export interface NodeChild {
  process: ChildProcess;
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string>;
  /** Calls `listener` with every complete stdout line from now on. */
  onLine(listener: (line: string) => void): void;
}

/** `node <args>` with a minimal environment (nothing inherited but PATH and HOME), stdout split into lines. */
export function spawnNode(args: string[], env: Record<string, string>, cwd: string): NodeChild {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const listeners: Array<(line: string) => void> = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      for (const listener of listeners) listener(line);
      newline = buffered.indexOf('\n');
    }
  });
  return { process: child, exited, onLine: (listener) => listeners.push(listener) };
}

/** Samples a process's RSS every `intervalMs`; `stop()` ends sampling and returns the peak seen (MB). */
export function sampleRssPeak(pid: number | undefined, intervalMs: number): { stop(): number | undefined } {
  let peak = rssMb(pid);
  const sample = (): void => {
    const now = rssMb(pid);
    if (now !== undefined && (peak === undefined || now > peak)) peak = now;
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
