import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postQuery, run, spawnGateway, type Running } from './helpers/process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

describe('npm start without a key: demo mode', () => {
  let gateway: Running;
  beforeAll(async () => {
    gateway = await spawnGateway(tsx, ['src/main.ts'], { cwd: root, env: { PORT: '0', HOST: '127.0.0.1' } });
  });
  afterAll(() => {
    gateway.child.kill('SIGKILL');
  });

  it('says so in its startup log and serves simulated batches', async () => {
    expect(gateway.stdout.join('')).toMatch(/DEMO MODE/);
    const response = await postQuery(gateway.url, '{ batchCalls(first: 3) { edges { node { name agentName status } } pageInfo { hasNextPage } } }');
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(JSON.stringify(response.body.data)).toMatch(/"hasNextPage":true/);
  });

  it('opens GraphiQL with an example query that shows pagination', async () => {
    const response = await fetch(`${gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain('endCursor');
    expect(html).toContain('$after');
  });

  it('answers /health and /ready', async () => {
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('exits 0 on SIGTERM', async () => {
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    expect(gateway.stdout.join('')).toMatch(/shutdown complete/);
  });
});

describe('configuration errors', () => {
  it('refuses production without a key, naming the variable, exit 1', async () => {
    const error = await run(tsx, ['src/main.ts'], { cwd: root, env: { NODE_ENV: 'production', ELEVENLABS_API_KEY: '', PORT: '0' } })
      .then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/exited 1/);
    expect(error?.message).toMatch(/ELEVENLABS_API_KEY is required/);
  });

  it('names every bad variable at once and never echoes the key', async () => {
    const error = await run(tsx, ['src/main.ts'], {
      cwd: root,
      env: { ELEVENLABS_API_KEY: 'sk_should_not_be_printed', PORT: 'eighty', UPSTREAM_TIMEOUT_MS: '-1', ELEVENLABS_REGION: 'mars' },
    }).then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/PORT/);
    expect(error?.message).toMatch(/UPSTREAM_TIMEOUT_MS/);
    expect(error?.message).toMatch(/ELEVENLABS_REGION/);
    expect(error?.message).not.toContain('sk_should_not_be_printed');
  });
});

describe('npm run simulator', () => {
  it('serves the upstream API on SIMULATOR_PORT, with the key from SIMULATOR_API_KEY', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(tsx, ['src/simulator/main.ts'], {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', SIMULATOR_PORT: '0', SIMULATOR_API_KEY: 'sk_sim' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
          if (match?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
      });
      const list = `${url}/v1/convai/batch-calling/workspace?limit=100`;
      expect((await fetch(list)).status).toBe(401);
      expect((await fetch(list, { headers: { 'xi-api-key': 'wrong' } })).status).toBe(401);
      const response = await fetch(list, { headers: { 'xi-api-key': 'sk_sim' } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { batch_calls: unknown[]; has_more: boolean };
      expect(body.batch_calls).toHaveLength(100);
      expect(body.has_more).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
