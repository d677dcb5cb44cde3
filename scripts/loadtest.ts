/**
 * `npm run loadtest`: the gateway under steady load while the upstream fails in phases.
 *
 * Starts the upstream simulator and the gateway as two separate processes (`node --import tsx`,
 * one process each, so the gateway's pid is the server's own and its RSS is what is measured),
 * then sends a bounded number of GraphQL operations over keep-alive connections at a steady pace
 * while a controller switches simulator faults on and off through its HTTP control endpoints:
 *
 *   clean → 503 everywhere → clean → slow upstream (beyond UPSTREAM_TIMEOUT_MS) → clean →
 *   connection resets → clean → 429 with Retry-After → clean
 *
 * Each operation is tagged with the phase it started in. Per phase: operations, successes, errors
 * by `extensions.code`, p50/p99/max latency. Hard criteria (exit code 1 when one fails):
 *   - the gateway never crashes: alive at the end, exit code 0 after SIGTERM;
 *   - no hung request: every response within OPERATION_TIMEOUT_MS + slack (a client-side timeout
 *     aborts and counts any request past that);
 *   - clean phases: no error once the circuit breaker has had a settle window after a fault phase
 *     (operations whose lifetime straddles a fault switch are excluded from both kinds of phase);
 *   - every error carries one of the gateway's documented codes (no masked internal errors, no
 *     broken HTTP);
 *   - resident memory after the load and some idle time is at most RSS before + a margin;
 *   - the API key never appears in the gateway's output.
 *
 * Options (flag or environment variable):
 *   --ops N            LOADTEST_OPS            operations, default 4000
 *   --concurrency N    LOADTEST_CONCURRENCY    operations in flight at most, default 32
 *   --clean-ms N       LOADTEST_CLEAN_MS       length of each clean phase, default 6000
 *   --fault-ms N       LOADTEST_FAULT_MS       length of each fault phase, default 5000
 *   --settle-ms N      LOADTEST_SETTLE_MS      settle window at the start of a clean phase after a fault
 *                                             phase, default 3500 (CIRCUIT_MAX_OPEN_MS + UPSTREAM_TIMEOUT_MS + 500)
 *   --idle-ms N        LOADTEST_IDLE_MS        idle time before the final RSS reading, default 5000
 *   --rss-margin-mb N  LOADTEST_RSS_MARGIN_MB  allowed RSS growth, default 50
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { freePort, mb, rssMb, sampleRssPeak, spawnNode, waitHealthy, within } from './lib/harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    ops: { type: 'string' },
    concurrency: { type: 'string' },
    'clean-ms': { type: 'string' },
    'fault-ms': { type: 'string' },
    'settle-ms': { type: 'string' },
    'idle-ms': { type: 'string' },
    'rss-margin-mb': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (flags.help === true) {
  const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(source)?.[1]?.replace(/^ \* ?/gm, '') ?? ''}\n`);
  process.exit(0);
}

function option(flag: string | undefined, envName: string, fallback: number, min: number): number {
  const raw = flag ?? process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    process.stderr.write(`${envName} / flag must be an integer >= ${min} (got "${raw}")\n`);
    process.exit(2);
  }
  return value;
}

const OPS = option(flags.ops, 'LOADTEST_OPS', 4000, 1);
const CONCURRENCY = option(flags.concurrency, 'LOADTEST_CONCURRENCY', 32, 1);
const CLEAN_MS = option(flags['clean-ms'], 'LOADTEST_CLEAN_MS', 6000, 500);
const FAULT_MS = option(flags['fault-ms'], 'LOADTEST_FAULT_MS', 5000, 500);

const IDLE_MS = option(flags['idle-ms'], 'LOADTEST_IDLE_MS', 5000, 0);
const RSS_MARGIN_MB = option(flags['rss-margin-mb'], 'LOADTEST_RSS_MARGIN_MB', 50, 0);
const WARMUP_OPS = 300;

/** The gateway's limits for this run: short, so faults show quickly and nothing waits long. */
const OPERATION_TIMEOUT_MS = 3000;
const UPSTREAM_TIMEOUT_MS = 1000;
const CIRCUIT_OPEN_MS = 1000;
const CIRCUIT_MAX_OPEN_MS = 2000;
const SHUTDOWN_GRACE_MS = 5000;
/** A response later than OPERATION_TIMEOUT_MS + this is a hung request; the client aborts it. */
const HANG_SLACK_MS = 2000;
const HANG_LIMIT_MS = OPERATION_TIMEOUT_MS + HANG_SLACK_MS;
/**
 * After a fault phase the breaker may stay open for up to CIRCUIT_MAX_OPEN_MS from its last failed
 * probe, and that probe may itself fail up to UPSTREAM_TIMEOUT_MS after the fault was removed (a
 * slow attempt that began before the switch): the worst case before the first successful probe.
 */
const SETTLE_MS = option(flags['settle-ms'], 'LOADTEST_SETTLE_MS', CIRCUIT_MAX_OPEN_MS + UPSTREAM_TIMEOUT_MS + 500, 0);

const API_KEY = `sk_loadtest_${randomBytes(16).toString('hex')}`;
const CLIENT_TOKEN = `loadtest-client-${randomBytes(12).toString('hex')}`;

/** Every code the gateway documents (src/schema/errors.ts); anything else is a defect. */
const DOCUMENTED_CODES = new Set([
  'NOT_FOUND', 'BAD_USER_INPUT', 'UPSTREAM_UNAUTHORIZED', 'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'UPSTREAM_OVERLOADED', 'QUERY_TOO_COMPLEX',
]);

// ---------------------------------------------------------------------------------------------
// Phases

interface Phase {
  name: string;
  /** The simulator fault spec (POST /__simulator/faults body); none in a clean phase. */
  fault?: Record<string, unknown>;
  /** Codes this fault should produce. */
  expected: string[];
  ms: number;
}

const clean = (): Phase => ({ name: 'clean', expected: [], ms: CLEAN_MS });
const PHASES: Phase[] = [
  clean(),
  { name: '503 on every call', fault: { kind: 'status', status: 503 }, expected: ['UPSTREAM_UNAVAILABLE'], ms: FAULT_MS },
  clean(),
  {
    name: `slow upstream (${UPSTREAM_TIMEOUT_MS * 1.5} ms)`,
    fault: { kind: 'delay', delayMs: UPSTREAM_TIMEOUT_MS * 1.5 },
    // Attempts time out; the breaker then opens (UNAVAILABLE, reason CIRCUIT_OPEN); calls queued
    // behind the stuck connections time out waiting or are shed (OVERLOADED).
    expected: ['UPSTREAM_TIMEOUT', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_OVERLOADED'],
    ms: FAULT_MS,
  },
  clean(),
  { name: 'connection resets', fault: { kind: 'reset' }, expected: ['UPSTREAM_UNAVAILABLE'], ms: FAULT_MS },
  clean(),
  {
    name: '429, Retry-After 1',
    fault: { kind: 'status', status: 429, retryAfter: '1' },
    expected: ['UPSTREAM_RATE_LIMITED'],
    ms: FAULT_MS,
  },
  clean(),
];
const PLANNED_MS = PHASES.reduce((sum, p) => sum + p.ms, 0);

// ---------------------------------------------------------------------------------------------
// Operations

const QUERIES = {
  list: '{ batchCalls(first: 20) { edges { cursor node { id batchId name agentName status totalCallsScheduled createdAt } } pageInfo { hasNextPage endCursor } } }',
  batchCall:
    'query One($id: ID!) { batchCall(id: $id) { id name status totalCallsScheduled recipients(first: 5) { totalCount edges { node { id status phoneNumber whatsappUserId } } } } }',
  recipients:
    '{ batchCalls(first: 3) { edges { node { id name recipients(first: 3) { totalCount edges { node { id status } } } } } } }',
} as const;
type Kind = keyof typeof QUERIES;
const KINDS: Kind[] = ['list', 'batchCall', 'recipients'];

type Outcome = 'ok' | 'error' | 'hung' | 'transport' | 'bad_response';

interface Result {
  phase: number;
  kind: Kind;
  ms: number;
  outcome: Outcome;
  codes: string[];
  /** A fault switch happened while it ran: excluded from the per-phase error rates. */
  straddle: boolean;
  /** Started in the settle window of a clean phase that follows a fault phase. */
  settle: boolean;
}

interface GraphQLBody {
  data?: unknown;
  errors?: Array<{ extensions?: { code?: unknown } }>;
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Child {
  process: ChildProcess;
  exited: Promise<number | string>;
  lines: (listener: (line: string) => void) => void;
  stderr: string[];
}

function startChild(script: string, env: Record<string, string>): Child {
  const spawned = spawnNode(['--import', 'tsx', script], env, root);
  const child = spawned.process;
  const exited = spawned.exited;
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  return { process: child, exited, lines: spawned.onLine, stderr };
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const pct = (part: number, whole: number): string => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);
const ms = (value: number): string => (Number.isNaN(value) ? '-' : String(Math.round(value)));
const signedMb = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(0)} MB`;
const shortCode = (code: string): string => code.replace(/^UPSTREAM_/, '');

function table(header: string[], rows: string[][], right: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<number> {
  const children: Child[] = [];
  const killAll = (): void => {
    for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });

  try {
    // --- the upstream simulator, on a port of its choosing
    const simulator = startChild('src/simulator/main.ts', {
      SIMULATOR_PORT: '0',
      SIMULATOR_HOST: '127.0.0.1',
      SIMULATOR_API_KEY: API_KEY,
      LOG_LEVEL: 'info',
    });
    children.push(simulator);
    const simulatorUrl = await within(
      new Promise<string>((resolve, reject) => {
        simulator.lines((line) => {
          const match = /"url":"(http:\/\/[^"]+)"/.exec(line);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        void simulator.exited.then((code) => reject(new Error(`simulator exited (${code}): ${simulator.stderr.join('')}`)));
      }),
      60_000,
      'simulator start',
    );

    // --- the gateway (LOG_LEVEL=warn: no "listening" line, so it gets a port and is polled)
    const port = await freePort();
    const gatewayUrl = `http://127.0.0.1:${port}`;
    const gateway = startChild('src/main.ts', {
      NODE_ENV: 'production',
      ELEVENLABS_API_KEY: API_KEY,
      ELEVENLABS_BASE_URL: simulatorUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OPERATION_TIMEOUT_MS: String(OPERATION_TIMEOUT_MS),
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      UPSTREAM_BODY_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      UPSTREAM_CONNECT_TIMEOUT_MS: '500',
      CIRCUIT_OPEN_MS: String(CIRCUIT_OPEN_MS),
      CIRCUIT_MAX_OPEN_MS: String(CIRCUIT_MAX_OPEN_MS),
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      // One client identity sends everything: the per-client rate limit is not what is measured.
      GATEWAY_API_TOKENS: CLIENT_TOKEN,
      RATE_LIMIT_MAX: '0',
      // Every operation reaches the upstream: what is measured is the behaviour under its faults
      // (with the cache on, cached batches would still be served through an outage).
      CACHE_ENABLED: 'false',
    });
    children.push(gateway);
    const logs = { lines: 0, byLevel: new Map<number, number>(), byMsg: new Map<string, number>(), keyLeaks: 0, tail: [] as string[] };
    gateway.lines((line) => {
      logs.lines++;
      if (line.includes(API_KEY)) logs.keyLeaks++;
      logs.tail.push(line);
      if (logs.tail.length > 20) logs.tail.shift();
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        logs.byLevel.set(entry.level ?? 0, (logs.byLevel.get(entry.level ?? 0) ?? 0) + 1);
        const msg = (entry.msg ?? '').slice(0, 60);
        logs.byMsg.set(msg, (logs.byMsg.get(msg) ?? 0) + 1);
      } catch {
        logs.byLevel.set(-1, (logs.byLevel.get(-1) ?? 0) + 1);
      }
    });
    let gatewayExit: number | string | undefined;
    void gateway.exited.then((code) => (gatewayExit = code));
    const pid = gateway.process.pid;

    await waitHealthy(gatewayUrl, 'gateway', () =>
      gatewayExit === undefined ? undefined : `(${gatewayExit}): ${gateway.stderr.join('')}${logs.tail.join('\n')}`);

    // --- client: one keep-alive pool, at most CONCURRENCY connections
    const pool = new Pool(gatewayUrl, { connections: CONCURRENCY, keepAliveTimeout: 60_000, pipelining: 1 });
    let connectionsOpened = 0;
    pool.on('connect', () => connectionsOpened++);

    async function graphql(query: string, variables: Record<string, unknown> | undefined, signal: AbortSignal): Promise<GraphQLBody> {
      const response = await pool.request({
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify(variables === undefined ? { query } : { query, variables }),
        signal,
      });
      const text = await response.body.text();
      const body = JSON.parse(text) as GraphQLBody;
      if (typeof body !== 'object' || body === null || (body.data === undefined && body.errors === undefined)) {
        throw Object.assign(new Error(`HTTP ${response.statusCode}: not a GraphQL response`), { badResponse: true });
      }
      return body;
    }

    // Batch ids for the single-batch query: every batch the simulator serves.
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const page = (await graphql(
        'query($after: String) { batchCalls(first: 100, after: $after) { edges { node { batchId } } pageInfo { hasNextPage endCursor } } }',
        { after },
        AbortSignal.timeout(10_000),
      )) as { data?: { batchCalls?: { edges: Array<{ node: { batchId: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } };
      const connection = page.data?.batchCalls;
      if (connection === undefined) throw new Error(`cannot list batches: ${JSON.stringify(page)}`);
      ids.push(...connection.edges.map((e) => e.node.batchId));
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
    } while (after !== null);

    // --- phase control over the simulator's HTTP endpoints
    let phaseIndex = 0;
    let switching = false;
    /** Bumped at both ends of each switch; an operation that sees two values straddled one. */
    let epoch = 0;
    const phaseStartedAt: number[] = [];
    const phaseEndedAt: number[] = [];

    async function control(method: 'POST' | 'DELETE', body?: unknown): Promise<void> {
      const response = await request(`${simulatorUrl}/__simulator/faults`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.body.text();
      if (response.statusCode >= 300) throw new Error(`simulator control ${method}: HTTP ${response.statusCode} ${text}`);
    }

    async function enter(index: number): Promise<void> {
      const phase = PHASES[index];
      if (phase === undefined) throw new Error(`no phase ${index}`);
      switching = true;
      epoch++;
      await control('DELETE');
      if (phase.fault !== undefined) await control('POST', phase.fault);
      if (index > 0) phaseEndedAt[index - 1] = performance.now();
      phaseIndex = index;
      phaseStartedAt[index] = performance.now();
      epoch++;
      switching = false;
    }

    const inSettle = (): boolean => {
      const started = phaseStartedAt[phaseIndex] ?? 0;
      const previous = PHASES[phaseIndex - 1];
      return PHASES[phaseIndex]?.fault === undefined && previous?.fault !== undefined && performance.now() - started < SETTLE_MS;
    };

    async function operation(i: number, record: boolean, results: Result[]): Promise<void> {
      const kind = KINDS[i % KINDS.length] ?? 'list';
      const variables = kind === 'batchCall' ? { id: ids[(i * 7919) % ids.length] } : undefined;
      const phase = phaseIndex;
      const epochAtStart = epoch;
      const straddleAtStart = switching;
      const settle = inSettle();
      const signal = AbortSignal.timeout(HANG_LIMIT_MS);
      const started = performance.now();
      let outcome: Outcome;
      let codes: string[] = [];
      try {
        const body = await graphql(QUERIES[kind], variables, signal);
        if (body.errors === undefined || body.errors.length === 0) outcome = 'ok';
        else {
          outcome = 'error';
          codes = [...new Set(body.errors.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'NO_CODE')))];
        }
      } catch (error) {
        if (signal.aborted) outcome = 'hung';
        else if ((error as { badResponse?: boolean }).badResponse === true || error instanceof SyntaxError) outcome = 'bad_response';
        else {
          outcome = 'transport';
          codes = [`CLIENT_${String((error as { code?: unknown }).code ?? 'ERROR')}`];
        }
      }
      const elapsed = performance.now() - started;
      if (record) {
        results.push({ phase, kind, ms: elapsed, outcome, codes, straddle: straddleAtStart || switching || epoch !== epochAtStart, settle });
      }
    }

    // --- warm-up (not recorded), then the baseline RSS
    await enter(0);
    {
      let next = 0;
      const scratch: Result[] = [];
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < WARMUP_OPS) await operation(next++, true, scratch);
        }),
      );
      const failed = scratch.filter((r) => r.outcome !== 'ok');
      if (failed.length > 0) throw new Error(`warm-up: ${failed.length} of ${WARMUP_OPS} operations failed, e.g. ${JSON.stringify(failed[0])}`);
    }
    await sleep(1000);
    const rssBefore = rssMb(pid);
    const sampler = sampleRssPeak(pid, 200);

    // --- the load: OPS operations paced evenly over the planned phases, at most CONCURRENCY at once
    const results: Result[] = [];
    const t0 = performance.now();
    phaseStartedAt[0] = t0;
    const interval = PLANNED_MS / OPS;
    let next = 0;
    let done = 0;
    const load = Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (;;) {
          const i = next++;
          if (i >= OPS) return;
          const due = t0 + i * interval - performance.now();
          if (due > 0) await sleep(due);
          await operation(i, true, results);
          done++;
        }
      }),
    );
    const controller = (async () => {
      for (let index = 0; index < PHASES.length; index++) {
        if (index > 0) await enter(index);
        const phase = PHASES[index];
        const endAt = t0 + PHASES.slice(0, index + 1).reduce((sum, p) => sum + p.ms, 0);
        const wait = endAt - performance.now();
        if (wait > 0) await sleep(wait);
        if (phase !== undefined && index === PHASES.length - 1) await load;
      }
      phaseEndedAt[PHASES.length - 1] = performance.now();
    })();
    const progress = setInterval(() => {
      process.stderr.write(`  ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s  phase ${phaseIndex + 1}/${PHASES.length} ${PHASES[phaseIndex]?.name ?? ''}  ${done}/${OPS} done\n`);
    }, 5000);
    await Promise.all([load, controller]);
    clearInterval(progress);
    const loadMs = performance.now() - t0;
    await control('DELETE');

    // --- idle, then the final RSS, then shutdown
    await sleep(IDLE_MS);
    const rssPeak = sampler.stop();
    const rssAfter = rssMb(pid);
    await pool.close();

    const aliveAtEnd = gatewayExit === undefined && gateway.process.exitCode === null && gateway.process.signalCode === null;
    const signalledAt = performance.now();
    gateway.process.kill('SIGTERM');
    const exitCode = await within(gateway.exited, SHUTDOWN_GRACE_MS + 10_000, 'gateway exit after SIGTERM').catch(() => 'did not exit');
    const exitMs = performance.now() - signalledAt;
    simulator.process.kill('SIGTERM');
    await within(simulator.exited, 10_000, 'simulator exit').catch(() => undefined);

    // --- report
    const rows: string[][] = [];
    const cleanSteady = { n: 0, errors: 0 };
    const cleanWithSettle = { n: 0, errors: 0 };
    const faultSteady = { n: 0, errors: 0, unexpected: 0 };
    const cleanFailures = new Map<string, number>();
    const faultSurprises = new Map<string, number>();
    for (const [index, phase] of PHASES.entries()) {
      const mine = results.filter((r) => r.phase === index);
      const latencies = mine.map((r) => r.ms).sort((a, b) => a - b);
      const steady = mine.filter((r) => !r.straddle && !r.settle);
      const steadyErrors = steady.filter((r) => r.outcome !== 'ok');
      const codes = new Map<string, number>();
      for (const r of mine) {
        for (const code of r.outcome === 'hung' ? ['HUNG'] : r.outcome === 'bad_response' ? ['BAD_RESPONSE'] : r.codes) {
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }
      if (phase.fault === undefined) {
        cleanSteady.n += steady.length;
        cleanSteady.errors += steadyErrors.length;
        const unsettled = mine.filter((r) => !r.straddle);
        cleanWithSettle.n += unsettled.length;
        cleanWithSettle.errors += unsettled.filter((r) => r.outcome !== 'ok').length;
        for (const r of steadyErrors) for (const code of r.codes.length > 0 ? r.codes : [r.outcome]) cleanFailures.set(code, (cleanFailures.get(code) ?? 0) + 1);
      } else {
        faultSteady.n += steady.length;
        faultSteady.errors += steadyErrors.length;
        for (const r of steadyErrors) {
          const surprising = r.codes.filter((c) => !phase.expected.includes(c));
          if (surprising.length > 0 || r.codes.length === 0) {
            faultSteady.unexpected++;
            for (const code of r.codes.length === 0 ? [r.outcome] : surprising) faultSurprises.set(code, (faultSurprises.get(code) ?? 0) + 1);
          }
        }
      }
      const seconds = ((phaseEndedAt[index] ?? 0) - (phaseStartedAt[index] ?? 0)) / 1000;
      rows.push([
        String(index + 1),
        phase.name,
        seconds.toFixed(1),
        String(mine.length),
        String(mine.filter((r) => r.outcome === 'ok').length),
        String(mine.filter((r) => r.outcome !== 'ok').length),
        String(mine.filter((r) => r.straddle).length),
        String(mine.filter((r) => r.settle).length),
        pct(steadyErrors.length, steady.length),
        [...codes.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${shortCode(c)} ${n}`).join(', ') || '-',
        ms(percentile(latencies, 50)),
        ms(percentile(latencies, 99)),
        ms(latencies.at(-1) ?? Number.NaN),
      ]);
    }

    const hung = results.filter((r) => r.outcome === 'hung').length;
    const undocumented = results.filter(
      (r) => r.outcome === 'transport' || r.outcome === 'bad_response' || r.codes.some((c) => !DOCUMENTED_CODES.has(c)),
    );
    const slowest = Math.max(...results.map((r) => r.ms));
    const circuitOpened = logs.byMsg.get('upstream circuit open') ?? 0;
    const level = (n: number): number => logs.byLevel.get(n) ?? 0;

    const out: string[] = [];
    out.push('');
    out.push(`Load test: ${OPS} operations (list / batchCall / recipients of 3 batches, in turn), ${CONCURRENCY} in flight at most, paced over ${(PLANNED_MS / 1000).toFixed(0)} s of phases`);
    out.push(`machine: ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`);
    out.push(`gateway: NODE_ENV=production, one client token, RATE_LIMIT_MAX=0, CACHE_ENABLED=false, OPERATION_TIMEOUT_MS=${OPERATION_TIMEOUT_MS} UPSTREAM_TIMEOUT_MS=${UPSTREAM_TIMEOUT_MS} CIRCUIT_OPEN_MS=${CIRCUIT_OPEN_MS} CIRCUIT_MAX_OPEN_MS=${CIRCUIT_MAX_OPEN_MS}, other settings default (UPSTREAM_MAX_CONCURRENCY=4, UPSTREAM_MAX_RETRIES=2)`);
    out.push(`settle window: first ${SETTLE_MS} ms of a clean phase after a fault phase; "switch" = operations in flight across a fault switch`);
    out.push('');
    out.push(
      table(
        ['#', 'phase', 's', 'ops', 'ok', 'errors', 'switch', 'settle', 'err% steady', 'codes (UPSTREAM_ omitted)', 'p50 ms', 'p99 ms', 'max ms'],
        rows,
        new Set([0, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]),
      ),
    );
    out.push('');
    out.push(`total: ${results.length} operations in ${(loadMs / 1000).toFixed(1)} s (${((results.length * 1000) / loadMs).toFixed(0)} ops/s), ${connectionsOpened} client connections opened (keep-alive)`);
    out.push(`clean phases: ${pct(cleanSteady.errors, cleanSteady.n)} errors excluding settle windows (${cleanSteady.errors} of ${cleanSteady.n}), ${pct(cleanWithSettle.errors, cleanWithSettle.n)} including them (${cleanWithSettle.errors} of ${cleanWithSettle.n})${cleanFailures.size > 0 ? `; failures: ${[...cleanFailures].map(([c, n]) => `${c} ${n}`).join(', ')}` : ''}`);
    out.push(`fault phases: ${pct(faultSteady.errors, faultSteady.n)} errors (${faultSteady.errors} of ${faultSteady.n}), ${faultSteady.unexpected} with a code other than the fault's expected ones${faultSurprises.size > 0 ? ` (${[...faultSurprises].map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}`);
    out.push(`hung requests (no response within ${HANG_LIMIT_MS} ms = OPERATION_TIMEOUT_MS + ${HANG_SLACK_MS}): ${hung}; slowest response ${ms(slowest)} ms; undocumented codes or broken responses: ${undocumented.length}`);
    out.push(`gateway RSS: ${mb(rssBefore)} before (after ${WARMUP_OPS} warm-up operations), ${mb(rssPeak)} peak, ${mb(rssAfter)} after (${(IDLE_MS / 1000).toFixed(0)} s idle)${rssBefore !== undefined && rssAfter !== undefined ? `: ${signedMb(rssAfter - rssBefore)}` : ''}; allowed growth ${RSS_MARGIN_MB} MB`);
    out.push(`gateway log: ${logs.lines} lines (warn ${level(40)}, error ${level(50)}, fatal ${level(60)}); circuit opened ${circuitOpened} times; API key in output: ${logs.keyLeaks === 0 ? 'never' : `${logs.keyLeaks} lines`}`);
    out.push(`gateway process: ${aliveAtEnd ? 'alive' : `DEAD (${String(gatewayExit)})`} at the end; exit code after SIGTERM: ${String(exitCode)} after ${ms(exitMs)} ms`);

    const failures: string[] = [];
    if (!aliveAtEnd) failures.push(`gateway died during the run (${String(gatewayExit)})`);
    if (exitCode !== 0) failures.push(`exit code after SIGTERM was ${String(exitCode)}`);
    if (level(60) > 0) failures.push('fatal log line');
    if (hung > 0) failures.push(`${hung} hung requests`);
    if (cleanSteady.errors > 0) failures.push(`${cleanSteady.errors} errors in clean phases after the settle window`);
    if (undocumented.length > 0) failures.push(`${undocumented.length} undocumented error codes or broken responses`);
    if (logs.keyLeaks > 0) failures.push('API key in the gateway output');
    if (results.length !== OPS) failures.push(`${results.length} of ${OPS} operations recorded`);
    if (rssBefore !== undefined && rssAfter !== undefined && rssAfter > rssBefore + RSS_MARGIN_MB) {
      failures.push(`RSS grew by ${(rssAfter - rssBefore).toFixed(0)} MB (> ${RSS_MARGIN_MB} MB)`);
    }
    const notes: string[] = [];
    if (rssBefore === undefined || rssAfter === undefined) notes.push('RSS not measured (no /proc): memory criterion skipped');
    if (faultSteady.n > 0 && faultSteady.errors < faultSteady.n * 0.95) notes.push('fault phases below 95% errors');
    if (faultSteady.unexpected > 0) notes.push('codes other than the expected ones in fault phases');
    out.push('');
    out.push(
      failures.length === 0
        ? `VERDICT: PASS: no crash, no hung request, clean phases error-free after the settle window, every error code documented, RSS ${rssBefore !== undefined && rssAfter !== undefined ? signedMb(rssAfter - rssBefore) : 'not measured'} (<= ${RSS_MARGIN_MB} MB), key never logged${notes.length > 0 ? ` (notes: ${notes.join('; ')})` : ''}`
        : `VERDICT: FAIL: ${failures.join('; ')}${notes.length > 0 ? ` (notes: ${notes.join('; ')})` : ''}`,
    );
    if (failures.length > 0 && logs.tail.length > 0) out.push(`last gateway log lines:\n${logs.tail.join('\n')}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    killAll();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`loadtest aborted: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
