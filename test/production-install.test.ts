import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { postQuery, run, spawnGateway } from './helpers/process.js';
import { TEST_API_KEY } from './helpers/stack.js';

/**
 * The Dockerfile's install path, without Docker: compile, install production dependencies only
 * from the lockfile into a clean folder, start `node dist/main.js`, answer a query, stop cleanly.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const JOB_TOKEN = 'prod-install-job-token-42';
const tsc = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));

describe('production install (npm ci --omit=dev)', () => {
  let dir: string;
  let simulator: Simulator;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-prod-'));
    simulator = await startSimulator({ apiKey: TEST_API_KEY });
  });
  afterAll(async () => {
    await simulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs without dev dependencies, starts, answers a query and exits 0 on SIGTERM', async () => {
    await run(tsc, ['-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')], { cwd: root });
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(root, file), join(dir, file));
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir });
    // Proof that dev dependencies stayed out: tsx and vitest are absent.
    await expect(run('node', ['-e', "require.resolve('tsx')"], { cwd: dir })).rejects.toThrow();

    const gateway = await spawnGateway('node', ['dist/main.js'], {
      cwd: dir,
      env: {
        NODE_ENV: 'production',
        ELEVENLABS_API_KEY: TEST_API_KEY,
        ELEVENLABS_BASE_URL: simulator.url,
        PORT: '0',
        HOST: '127.0.0.1',
        GATEWAY_API_TOKENS: JOB_TOKEN,
      },
    });
    try {
      // Production requires client authentication.
      expect((await postQuery(gateway.url, '{ __typename }')).status).toBe(401);
      const response = await postQuery(gateway.url, '{ batchCalls(first: 2) { edges { node { batchId name } } } }', { authorization: `Bearer ${JOB_TOKEN}` });
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
      expect(JSON.stringify(response.body.data)).toContain(simulator.store.batchIds()[0]);
      expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
      // Production defaults: no GraphiQL.
      const page = await fetch(`${gateway.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/graphiql/i);
    } finally {
      gateway.child.kill('SIGTERM');
    }
    expect(await gateway.exited).toBe(0);
    expect(gateway.stdout.join('') + gateway.stderr.join('')).not.toContain(TEST_API_KEY);
  }, 240_000);
});
