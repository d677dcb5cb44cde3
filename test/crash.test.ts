import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { spawnGateway } from './helpers/process.js';

/**
 * A crash that happens anyway (a rejection nobody awaits, a throw in a timer) must end the process
 * with exit code 1 and one fatal JSON line naming what happened, with the API key scrubbed out of
 * the message: crash logs travel to log stores that should never hold the key.
 *
 * The crash comes from a fixture preloaded with `--import` before src/main.ts; it fires ~300 ms
 * after the gateway serves, with the key in the error's message.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const KEY = `sk_crash_${randomBytes(12).toString('hex')}`;

interface LogLine {
  level?: number;
  msg?: string;
  error?: { name?: string; message?: string };
}

function jsonLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('a crash after start-up', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startSimulator({ apiKey: KEY });
  });
  afterAll(async () => {
    await simulator.close();
  });

  const cases = [
    { fixture: 'unhandled-rejection.ts', msg: /unhandled promise rejection/, message: 'boom with [redacted]' },
    { fixture: 'uncaught-exception.ts', msg: /uncaught exception/, message: 'kaboom with [redacted]' },
  ];

  for (const { fixture, msg, message } of cases) {
    it(`${fixture.replace('.ts', '')}: logged as fatal without the key, exit code 1`, async () => {
      const gateway = await spawnGateway(process.execPath, ['--import', 'tsx', '--import', `./test/fixtures/${fixture}`, 'src/main.ts'], {
        cwd: root,
        env: { ELEVENLABS_API_KEY: KEY, ELEVENLABS_BASE_URL: simulator.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
        timeoutMs: 60_000,
      });
      try {
        const code = await gateway.exited;
        const stdout = gateway.stdout.join('');
        const stderr = gateway.stderr.join('');

        expect(code).toBe(1);
        const fatal = jsonLines(stdout).filter((line) => line.level === 60);
        expect(fatal).toHaveLength(1);
        expect(fatal[0]?.msg).toMatch(msg);
        expect(fatal[0]?.error?.name).toBe('Error');
        expect(fatal[0]?.error?.message).toBe(message);
        // Name and message only: no stack, which could carry request data.
        expect(JSON.stringify(fatal[0])).not.toMatch(/at .*\.ts:\d+/);
        expect(stdout).not.toContain(KEY);
        expect(stderr).not.toContain(KEY);
        // Not even a piece of it long enough to be useful.
        expect(stdout + stderr).not.toContain(KEY.slice(9, 25));
      } finally {
        gateway.child.kill('SIGKILL');
      }
    }, 90_000);
  }
});
