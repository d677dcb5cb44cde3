import { fileURLToPath } from 'node:url';
import { Agent, Client, fetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { spawnGateway, type Running } from './helpers/process.js';
import { TEST_API_KEY } from './helpers/stack.js';

/**
 * Graceful shutdown of the real process (`node --import tsx src/main.ts`: one process, so the
 * signal reaches the gateway itself, not a tsx wrapper that relays it).
 */
const root = fileURLToPath(new URL('..', import.meta.url));

const DETAIL_QUERY = 'query($id: ID!) { batchCall(id: $id) { batchId name status recipients(first: 2) { totalCount } } }';

interface Outcome {
  at: number;
  status?: number;
  body?: { data?: { batchCall?: { batchId?: string } | null } | null; errors?: unknown[] };
  error?: string;
}

let simulator: Simulator;
let gateway: Running | undefined;

beforeEach(async () => {
  simulator = await startSimulator({ apiKey: TEST_API_KEY });
});
afterEach(async () => {
  gateway?.child.kill('SIGKILL');
  gateway = undefined;
  await simulator.close();
});

function start(env: Record<string, string>): Promise<Running> {
  return spawnGateway(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ELEVENLABS_API_KEY: TEST_API_KEY, ELEVENLABS_BASE_URL: simulator.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    timeoutMs: 60_000,
  });
}

/** One GraphQL request on its own connection pool; settles with what came back, never rejects. */
function fire(url: string, dispatcher: Agent, id: string): Promise<Outcome> {
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: DETAIL_QUERY, variables: { id } }),
    dispatcher,
  }).then(
    async (response) => ({ at: Date.now(), status: response.status, body: (await response.json()) as Outcome['body'] }),
    (error: unknown) => ({ at: Date.now(), error: String((error as { cause?: unknown }).cause ?? error) }),
  );
}

/** Resolves once the simulator has received `count` detail requests (or throws after `ms`). */
async function upstreamReceived(count: number, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (simulator.requests.filter((r) => r.route === 'detail').length < count) {
    if (Date.now() > until) throw new Error(`upstream saw only ${simulator.requests.length} of ${count} requests`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The error code of a request on a brand-new connection (no keep-alive reuse possible). */
async function freshConnection(url: string): Promise<string> {
  const client = new Client(url);
  try {
    const response = await client.request({ path: '/health', method: 'GET', headersTimeout: 5_000 });
    await response.body.text();
    return `HTTP ${response.statusCode}`;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.destroy();
  }
}

function timed<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)),
  ]);
}

describe('SIGTERM', () => {
  it('finishes every in-flight request, refuses new connections, exits 0 within the grace period', async () => {
    const graceMs = 5_000;
    // Every detail call takes 1 s, and all 20 run at once: they are all mid-flight at the signal.
    simulator.faults.add({ kind: 'delay', route: 'detail', delayMs: 1_000 });
    gateway = await start({ SHUTDOWN_GRACE_MS: String(graceMs), UPSTREAM_MAX_CONCURRENCY: '20' });
    const ids = simulator.store.batchIds().slice(0, 20);
    expect(ids).toHaveLength(20);

    const agent = new Agent({ connections: 20 });
    const fired = ids.map((id) => fire(gateway!.url, agent, id));
    // ~100 ms, and at least until the gateway has asked the upstream for every one of them.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await upstreamReceived(20);
    const exited = gateway.exited.then((code) => ({ code, at: Date.now() }));
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');

    await new Promise((resolve) => setTimeout(resolve, 200));
    const late = await freshConnection(gateway.url);

    const outcomes = await timed(Promise.all(fired), 30_000, 'in-flight responses');
    const exit = await timed(exited, 30_000, 'exit');
    await agent.close();

    // Every request was in flight at the signal, and every one got its full answer.
    for (const [index, outcome] of outcomes.entries()) {
      expect(outcome.error).toBeUndefined();
      expect(outcome.at).toBeGreaterThanOrEqual(signalledAt);
      expect(outcome.status).toBe(200);
      expect(outcome.body?.errors).toBeUndefined();
      expect(outcome.body?.data?.batchCall?.batchId).toBe(ids[index]);
    }
    // The listening socket is closed at the signal: a new connection is refused.
    expect(late).toBe('ECONNREFUSED');
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(graceMs);
    const stdout = gateway.stdout.join('');
    expect(stdout).toMatch(/"signal":"SIGTERM"[^\n]*shutting down/);
    expect(stdout).toMatch(/shutdown complete/);
  }, 90_000);

  it('cuts a request that outlives the grace period and still exits 0 soon after it', async () => {
    const graceMs = 500;
    simulator.faults.add({ kind: 'hang', route: 'detail' });
    gateway = await start({ SHUTDOWN_GRACE_MS: String(graceMs), OPERATION_TIMEOUT_MS: '120000', UPSTREAM_TIMEOUT_MS: '120000' });
    const [id] = simulator.store.batchIds();
    const agent = new Agent();
    const pending = fire(gateway.url, agent, id ?? '');
    await upstreamReceived(1);

    const exited = gateway.exited.then((code) => ({ code, at: Date.now() }));
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    const exit = await timed(exited, 30_000, 'exit');
    const outcome = await timed(pending, 10_000, 'the cut request to settle');
    await agent.close();

    expect(exit.code).toBe(0);
    // The grace period, plus process teardown on a busy machine; nowhere near the 120 s timeouts.
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(graceMs - 50);
    expect(exit.at - signalledAt).toBeLessThan(graceMs + 3_000);
    // The hung request's connection was closed under it: an error, not a response and not a hang.
    expect(outcome.status).toBeUndefined();
    expect(outcome.error).toBeDefined();
  }, 90_000);

  it('does not wait past the grace period for an upstream call no client is waiting on (a readiness probe)', async () => {
    const graceMs = 500;
    simulator.faults.add({ kind: 'hang', route: 'list' });
    gateway = await start({ SHUTDOWN_GRACE_MS: String(graceMs), UPSTREAM_TIMEOUT_MS: '30000' });
    // The probe's own deadline is 5 s; the client gives up at once, the probe's upstream call stays.
    const probe = fetch(`${gateway.url}/ready`, { signal: AbortSignal.timeout(200) }).catch(() => undefined);
    await timed((async () => {
      while (simulator.requests.filter((r) => r.route === 'list').length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    })(), 20_000, 'the probe to reach the upstream');
    await probe;

    const exited = gateway.exited.then((code) => ({ code, at: Date.now() }));
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    const exit = await timed(exited, 30_000, 'exit');
    expect(exit.code).toBe(0);
    // Without a bound on closing the upstream pool this took the probe's full 5 s.
    expect(exit.at - signalledAt).toBeLessThan(graceMs + 2_000);
  }, 90_000);

  it('exits 0 on SIGTERM even when its stdout is a closed pipe', async () => {
    gateway = await start({ SHUTDOWN_GRACE_MS: '2000' });
    // The reader goes away (as with `| head`): every log line from now on meets EPIPE.
    gateway.child.stdout?.destroy();
    const exited = gateway.exited.then((code) => ({ code, at: Date.now() }));
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    const exit = await timed(exited, 20_000, 'exit');
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(5_000);
  }, 60_000);

  it('a second signal during the drain exits at once with a non-zero code', async () => {
    simulator.faults.add({ kind: 'hang', route: 'detail' });
    gateway = await start({ SHUTDOWN_GRACE_MS: '60000', OPERATION_TIMEOUT_MS: '120000', UPSTREAM_TIMEOUT_MS: '120000' });
    const [id] = simulator.store.batchIds();
    const agent = new Agent();
    const pending = fire(gateway.url, agent, id ?? '');
    await upstreamReceived(1);

    const exited = gateway.exited.then((code) => ({ code, at: Date.now() }));
    gateway.child.kill('SIGTERM');
    // Wait until the first signal is being handled (the drain has begun).
    const running = gateway;
    await timed(
      (async () => {
        while (!/shutting down/.test(running.stdout.join(''))) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      20_000,
      'the shutdown log line',
    );
    // Still draining: the hung request holds it open for up to 60 s.
    expect(gateway.child.exitCode).toBeNull();
    const secondAt = Date.now();
    gateway.child.kill('SIGINT');
    const exit = await timed(exited, 20_000, 'exit after the second signal');
    await timed(pending, 10_000, 'the cut request to settle');
    await agent.close();

    expect(exit.code).toBe(1);
    expect(exit.at - secondAt).toBeLessThan(2_000);
    const stdout = gateway.stdout.join('');
    expect(stdout).toMatch(/"signal":"SIGINT"[^\n]*second signal: exiting now/);
    expect(stdout).not.toMatch(/shutdown complete/);
  }, 90_000);
});
