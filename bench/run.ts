/**
 * `npm run bench`: what the gateway costs over a plain pass-through, and what its cache saves.
 *
 * Separate processes, all on this machine:
 *   - the upstream simulator (bench/simulator.ts): serves precomputed bodies of terminal batches
 *     (an 80-recipient one for the throughput runs, a 50 000-recipient one for the paging walk);
 *   - a plain pass-through (bench/passthrough.ts): GET /batch/:id → the same upstream GET over an
 *     undici keep-alive Pool, relayed unchanged: the baseline;
 *   - the gateway uncached (CACHE_ENABLED=false) and the gateway cached (CACHE_ENABLED=true,
 *     CACHE_MAX_BYTES=512 MiB), both built (`tsc -p tsconfig.build.json`, then `node dist/main.js`),
 *     NODE_ENV=production with a bearer token, RATE_LIMIT_MAX=0, LOG_LEVEL=warn,
 *     UPSTREAM_MAX_CONCURRENCY = the pass-through's pool connections;
 *   - the load generator: autocannon's programmatic API, in this process.
 *
 * Measured:
 *   1. one batch, ~10 scalar fields (GraphQL `batchCall`) vs the pass-through GET of the same batch
 *      (and the simulator hit directly, as a ceiling): a warm-up per target, then BENCH_ROUNDS
 *      interleaved rounds of BENCH_DURATION_S per target, order rotated each round; the median of the
 *      rounds for requests/s, p50 and p99; CPU used by each process during each run.
 *   2. upstream calls per operation, counted at the simulator (its request log) over a fixed number
 *      of operations, cross-checked with the gateway's gateway_upstream_calls_total: the batch
 *      (pass-through, uncached, cached), a list page, a list page + recipients of 5 batches.
 *   3. the 50 000-recipient batch on the cached gateway: recipients(first: 100) paged with `after`,
 *      the first page then BENCH_PAGES more; RSS before/after; decodes
 *      (and gateway_upstream_responses_decoded_total{route="recipients"}: recipient arrays parsed)
 *      (gateway_upstream_responses_decoded_total{route="detail"}) and upstream detail calls.
 *   4. resident memory (VmRSS) of every process after each phase.
 *
 * Prints one table with targets and PASS/FAIL, then a verdict. Exit code 0 whatever the figures (a
 * measurement, not a test); 1 only when the bench itself could not run.
 *
 * Environment:
 *   BENCH_DURATION_S            seconds per measured run, default 5
 *   BENCH_ROUNDS                interleaved rounds, default 3
 *   BENCH_CONNECTIONS           client connections (autocannon), default 16
 *   BENCH_WARMUP_S              warm-up per target, default 2
 *   BENCH_UPSTREAM_CONNECTIONS  pass-through pool size = gateway UPSTREAM_MAX_CONCURRENCY, default 16
 *   BENCH_COUNT_OPS             operations per upstream-call counting window, default 400
 *   BENCH_PAGES                 recipient pages after the first in the 50k walk, default 50
 *   BENCH_TARGETS               subset of simulator,passthrough,uncached,cached (default all); the
 *                               processes of targets left out are not started
 *   BENCH_BUILD                 false: run the existing dist/ without building first
 *   BENCH_GATEWAY_ENV           extra gateway variables, "NAME=value,NAME=value" (e.g. GATEWAY_FAST_PATH=false)
 */
import { spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Pool, request } from 'undici';
import { freePort, mb, rssMb, sampleRssPeak, spawnNode, waitHealthy as waitUntilHealthy, within } from '../scripts/lib/harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Options

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    process.stderr.write(`${name} must be an integer >= ${min} (got "${raw}")\n`);
    process.exit(2);
  }
  return value;
}

const DURATION_S = envInt('BENCH_DURATION_S', 5, 1);
const ROUNDS = envInt('BENCH_ROUNDS', 3, 1);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 16, 1);
const WARMUP_S = envInt('BENCH_WARMUP_S', 2, 0);
const UPSTREAM_CONNECTIONS = envInt('BENCH_UPSTREAM_CONNECTIONS', 16, 1);
const COUNT_OPS = envInt('BENCH_COUNT_OPS', 400, 1);
const PAGES = envInt('BENCH_PAGES', 50, 1);
const BUILD = process.env['BENCH_BUILD'] !== 'false';
const CACHE_MAX_BYTES = 512 * 1024 * 1024;

type TargetKey = 'simulator' | 'passthrough' | 'uncached' | 'cached';
const ALL_TARGETS: readonly TargetKey[] = ['simulator', 'passthrough', 'uncached', 'cached'];
const LABELS: Record<TargetKey, string> = {
  simulator: 'simulator direct',
  passthrough: 'pass-through',
  uncached: 'gateway uncached',
  cached: 'gateway cached',
};
const TARGETS: TargetKey[] = (() => {
  const raw = process.env['BENCH_TARGETS'];
  if (raw === undefined || raw.trim() === '') return [...ALL_TARGETS];
  const wanted = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = wanted.filter((s) => !(ALL_TARGETS as readonly string[]).includes(s));
  if (bad.length > 0 || wanted.length === 0) {
    process.stderr.write(`BENCH_TARGETS: unknown ${bad.join(', ')}; use a subset of ${ALL_TARGETS.join(',')}\n`);
    process.exit(2);
  }
  return ALL_TARGETS.filter((t) => wanted.includes(t));
})();
const GATEWAY_EXTRA_ENV: Record<string, string> = (() => {
  const out: Record<string, string> = {};
  for (const pair of (process.env['BENCH_GATEWAY_ENV'] ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
})();

const API_KEY = `sk_bench_${randomBytes(16).toString('hex')}`;
const CLIENT_TOKEN = `bench-client-${randomBytes(16).toString('hex')}`;

const QUERY_BATCH = (id: string): string =>
  `{ batchCall(id: "${id}") { batchId name status agentId agentName totalCallsScheduled totalCallsDispatched totalCallsFinished createdAt lastUpdatedAt } }`;
const QUERY_LIST = '{ batchCalls(first: 20) { edges { node { name status } } } }';
const QUERY_LIST_RECIPIENTS =
  '{ batchCalls(first: 5) { edges { node { name status recipients(first: 5) { edges { node { recipientId status } } } } } } }';
const QUERY_PAGE =
  'query Page($id: ID!, $after: String) { batchCall(id: $id) { recipients(first: 100, after: $after) { edges { node { recipientId status } } pageInfo { endCursor hasNextPage } } } }';

// ---------------------------------------------------------------------------------------------
// Processes

interface Child {
  name: string;
  command: string;
  process: ChildProcess;
  exited: Promise<number | string>;
  lines: (listener: (line: string) => void) => void;
  output: string[];
}

const children: Child[] = [];
const alive = (c: Child): boolean => c.process.exitCode === null && c.process.signalCode === null;

function startChild(name: string, args: string[], env: Record<string, string>): Child {
  const spawned = spawnNode(args, env, root);
  const child = spawned.process;
  const exited = spawned.exited;
  const listeners: Array<(line: string) => void> = [];
  const output: string[] = [];
  const keep = (text: string): void => {
    output.push(text);
    if (output.length > 50) output.shift();
  };
  spawned.onLine((line) => {
    keep(line);
    for (const listener of listeners) listener(line);
  });
  child.stderr?.setEncoding('utf8').on('data', keep);
  const entry: Child = {
    name,
    command: `node ${args.join(' ')}`,
    process: child,
    exited,
    lines: (listener) => listeners.push(listener),
    output,
  };
  children.push(entry);
  return entry;
}

/** Throws when a child process has died: the figures after that would be meaningless. */
function assertAlive(): void {
  const dead = children.filter((c) => !alive(c));
  if (dead.length > 0) {
    throw new Error(`child process died: ${dead.map((c) => `${c.name} (pid ${c.process.pid ?? '?'}, exit ${String(c.process.exitCode ?? c.process.signalCode)})`).join(', ')}`);
  }
}

function killAllNow(): void {
  for (const child of children) if (alive(child)) child.process.kill('SIGKILL');
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.filter(alive).map(async (child) => {
      child.process.kill('SIGTERM');
      const result = await Promise.race([child.exited, sleep(5000).then(() => 'timeout' as const)]);
      if (result === 'timeout' && alive(child)) child.process.kill('SIGKILL');
    }),
  );
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping ${children.filter(alive).length} child processes\n`);
    killAllNow();
    process.exit(130);
  });
}

/** The first stdout line of a child that parses as a JSON object. */
function firstJsonLine(child: Child, what: string): Promise<Record<string, unknown>> {
  return within(
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.lines((line) => {
        if (!line.startsWith('{')) return;
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not the line we wait for
        }
      });
      void child.exited.then((code) => reject(new Error(`${what} exited (${code}): ${child.output.join('\n')}`)));
    }),
    60_000,
    what,
  );
}

function waitHealthy(child: Child, url: string): Promise<void> {
  return waitUntilHealthy(url, child.name, () => (alive(child) ? undefined : child.output.join('\n')));
}

// ---------------------------------------------------------------------------------------------
// /proc readings

const CLK_TCK = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine (all cores) so far. */
function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return (total - idle) / CLK_TCK;
  } catch {
    return undefined;
  }
}

interface CpuSnapshot {
  at: number;
  perProcess: Map<string, number | undefined>;
  client: number;
  machine: number | undefined;
}

function cpuSnapshot(): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    perProcess: new Map(children.map((c) => [c.name, cpuSeconds(c.process.pid)])),
    client: (usage.user + usage.system) / 1e6,
    machine: machineBusySeconds(),
  };
}

/** CPU used between two snapshots, in % of one core, per process ('client' = this process). */
function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): Map<string, number> {
  const seconds = (b.at - a.at) / 1000;
  const out = new Map<string, number>();
  let ours = 0;
  for (const [name, end] of b.perProcess) {
    const start = a.perProcess.get(name);
    if (start === undefined || end === undefined) continue;
    const pct = (100 * (end - start)) / seconds;
    out.set(name, pct);
    ours += pct;
  }
  const client = (100 * (b.client - a.client)) / seconds;
  out.set('client', client);
  ours += client;
  if (a.machine !== undefined && b.machine !== undefined) {
    const machine = (100 * (b.machine - a.machine)) / seconds;
    out.set('machine', machine);
    out.set('others', Math.max(0, machine - ours));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Targets and load

interface Target {
  key: TargetKey;
  url: string;
  child: Child;
  /** The detail scenario's request. */
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** The exact response body of the detail scenario (terminal batch: it never changes). */
  expectBody?: string;
}

const gqlHeaders = {
  'content-type': 'application/json',
  accept: 'application/json',
  authorization: `Bearer ${CLIENT_TOKEN}`,
};

interface RunResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  bad: number;
  cpu: Map<string, number>;
}

async function cannon(
  url: string,
  spec: { path: string; method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; expectBody?: string },
  run: { durationS?: number; amount?: number },
): Promise<RunResult> {
  const before = cpuSnapshot();
  // Latencies from the per-response event (sub-millisecond; autocannon's histogram keeps whole ms).
  const latencies: number[] = [];
  const options: autocannon.Options = {
    url: `${url}${spec.path}`,
    method: spec.method,
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
    ...(spec.expectBody === undefined ? {} : { expectBody: spec.expectBody }),
    connections: CONNECTIONS,
    pipelining: 1,
    timeout: 20,
    ...(run.amount === undefined ? { duration: run.durationS ?? DURATION_S } : { amount: run.amount }),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, value: autocannon.Result) => (error === null || error === undefined ? resolve(value) : reject(error instanceof Error ? error : new Error(String(error)))));
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  const after = cpuSnapshot();
  assertAlive();
  return {
    rps: result.requests.total / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    total: result.requests.total,
    bad: result.non2xx + result.errors + result.timeouts + result.mismatches,
    cpu: cpuBetween(before, after),
  };
}

async function fetchText(url: string, init: { method?: 'GET' | 'POST' | 'DELETE'; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; text: string }> {
  const response = await request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.body === undefined ? {} : { body: init.body }) });
  return { status: response.statusCode, text: await response.body.text() };
}

// ---------------------------------------------------------------------------------------------
// Simulator request log and gateway metrics

interface LoggedRequest {
  route: 'list' | 'detail' | 'other';
  batchId?: string;
  status: number;
}

async function simulatorLog(simulatorUrl: string): Promise<LoggedRequest[]> {
  const { status, text } = await fetchText(`${simulatorUrl}/__simulator/requests`);
  if (status !== 200) throw new Error(`simulator request log: HTTP ${status}`);
  return (JSON.parse(text) as { requests: LoggedRequest[] }).requests;
}

async function clearSimulatorLog(simulatorUrl: string): Promise<void> {
  const { status } = await fetchText(`${simulatorUrl}/__simulator/requests`, { method: 'DELETE' });
  if (status !== 200) throw new Error(`simulator request log clear: HTTP ${status}`);
}

/** Sum of a Prometheus metric over the series whose labels include `match`. */
function metricSum(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const parsed = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (parsed === null || parsed[1] !== name) continue;
    const labels = new Map<string, string>();
    for (const m of (parsed[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels.set(m[1] ?? '', m[2] ?? '');
    if (Object.entries(match).every(([k, v]) => labels.get(k) === v)) sum += Number(parsed[3]);
  }
  return sum;
}

async function gatewayMetrics(url: string): Promise<string> {
  const { status, text } = await fetchText(`${url}/metrics`);
  if (status !== 200) throw new Error(`gateway /metrics: HTTP ${status}`);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The run

interface Verdict {
  name: string;
  pass: boolean | undefined;
}

async function main(): Promise<void> {
  const started = performance.now();
  const notes: string[] = [];
  const log = (message: string): void => {
    process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
  };
  const want = (key: TargetKey): boolean => TARGETS.includes(key);
  const gatewaysWanted = want('uncached') || want('cached');

  // --- build the gateway (falls back to tsx on src/ when the build fails)
  // bench/gateway.mjs imports dist/main.js (or src/main.ts) in its own process: see that file.
  let gatewayArgs = ['bench/gateway.mjs'];
  let gatewayEntry = 'dist';
  let gatewayFrom = 'dist/main.js (built by tsc -p tsconfig.build.json), loaded by bench/gateway.mjs';
  if (gatewaysWanted) {
    if (BUILD) {
      log('building the gateway (tsc -p tsconfig.build.json)');
      const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
      if (build.status !== 0) {
        gatewayArgs = ['--import', 'tsx', 'bench/gateway.mjs'];
        gatewayEntry = 'src';
        gatewayFrom = 'src/main.ts through tsx (THE BUILD FAILED, see below)';
        notes.push(`build failed, gateway run from src through tsx:\n${(build.stdout + build.stderr).split('\n').slice(0, 10).join('\n')}`);
      }
    } else if (existsSync(`${root}/dist/main.js`)) {
      gatewayFrom = 'dist/main.js (existing build, BENCH_BUILD=false), loaded by bench/gateway.mjs';
    } else {
      gatewayArgs = ['--import', 'tsx', 'bench/gateway.mjs'];
      gatewayEntry = 'src';
      gatewayFrom = 'src/main.ts through tsx (no dist/)';
    }
  }

  // --- the simulator
  log('starting the simulator');
  const simulator = startChild('simulator', ['--import', 'tsx', 'bench/simulator.ts'], {
    SIMULATOR_API_KEY: API_KEY,
    SIMULATOR_HOST: '127.0.0.1',
    SIMULATOR_PORT: '0',
  });
  const info = await firstJsonLine(simulator, 'simulator');
  const simulatorUrl = String(info['url']);
  const terminalId = String(info['terminal']);
  const bigId = String(info['big']);
  const terminalBytes = Number(info['terminalBytes']);
  const bigBytes = Number(info['bigBytes']);

  // --- the pass-through and the gateways
  let passthrough: Child | undefined;
  let passthroughUrl = '';
  const startPassthrough = async (): Promise<void> => {
    passthrough = startChild('passthrough', ['--import', 'tsx', 'bench/passthrough.ts'], {
      UPSTREAM_URL: simulatorUrl,
      UPSTREAM_API_KEY: API_KEY,
      UPSTREAM_CONNECTIONS: String(UPSTREAM_CONNECTIONS),
      HOST: '127.0.0.1',
      PORT: '0',
    });
    passthroughUrl = String((await firstJsonLine(passthrough, 'pass-through'))['url']);
  };
  const gatewayEnv = (cached: boolean, port: number): Record<string, string> => ({
    BENCH_GATEWAY_ENTRY: gatewayEntry,
    NODE_ENV: 'production',
    ELEVENLABS_API_KEY: API_KEY,
    ELEVENLABS_BASE_URL: simulatorUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    GATEWAY_API_TOKENS: CLIENT_TOKEN,
    RATE_LIMIT_MAX: '0',
    UPSTREAM_MAX_CONCURRENCY: String(UPSTREAM_CONNECTIONS),
    CACHE_ENABLED: cached ? 'true' : 'false',
    ...(cached ? { CACHE_MAX_BYTES: String(CACHE_MAX_BYTES) } : {}),
    ...GATEWAY_EXTRA_ENV,
  });
  const gateways = new Map<'uncached' | 'cached', { child: Child; url: string }>();
  const startGateway = async (key: 'uncached' | 'cached'): Promise<void> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = startChild(key === 'cached' ? 'gateway-cached' : 'gateway-uncached', gatewayArgs, gatewayEnv(key === 'cached', port));
    await waitHealthy(child, url);
    gateways.set(key, { child, url });
  };
  log(`starting ${TARGETS.filter((t) => t !== 'simulator').map((t) => LABELS[t]).join(', ') || 'nothing else'}`);
  await Promise.all([
    want('passthrough') ? startPassthrough() : Promise.resolve(),
    want('uncached') ? startGateway('uncached') : Promise.resolve(),
    want('cached') ? startGateway('cached') : Promise.resolve(),
  ]);

  // --- targets of the detail scenario, each checked once
  const targets: Target[] = [];
  const gqlBatchBody = JSON.stringify({ query: QUERY_BATCH(terminalId) });
  for (const key of TARGETS) {
    if (key === 'simulator') {
      targets.push({ key, url: simulatorUrl, child: simulator, path: `/v1/convai/batch-calling/${terminalId}`, method: 'GET', headers: { 'xi-api-key': API_KEY } });
    } else if (key === 'passthrough' && passthrough !== undefined) {
      targets.push({ key, url: passthroughUrl, child: passthrough, path: `/batch/${terminalId}`, method: 'GET', headers: {} });
    } else if (key === 'uncached' || key === 'cached') {
      const gateway = gateways.get(key);
      if (gateway !== undefined) targets.push({ key, url: gateway.url, child: gateway.child, path: '/graphql', method: 'POST', headers: gqlHeaders, body: gqlBatchBody });
    }
  }
  for (const target of targets) {
    const { status, text } = await fetchText(`${target.url}${target.path}`, {
      method: target.method,
      headers: target.headers,
      ...(target.body === undefined ? {} : { body: target.body }),
    });
    if (status !== 200) throw new Error(`${LABELS[target.key]}: HTTP ${status}: ${text.slice(0, 300)}`);
    const parsed = JSON.parse(text) as { id?: string; data?: { batchCall?: { batchId?: string } }; errors?: unknown };
    const ok = target.method === 'GET' ? parsed.id === terminalId : parsed.errors === undefined && parsed.data?.batchCall?.batchId === terminalId;
    if (!ok) throw new Error(`${LABELS[target.key]}: unexpected response ${text.slice(0, 300)}`);
    target.expectBody = text;
  }
  const gatewayResponseBytes = targets.find((t) => t.key === 'uncached' || t.key === 'cached')?.expectBody?.length;

  type Phase = 'start' | 'throughput' | 'counts' | 'walk';
  const rss = new Map<string, Map<Phase, number | undefined>>();
  const recordRss = (phase: Phase): void => {
    for (const child of children) {
      const byPhase = rss.get(child.name) ?? new Map<Phase, number | undefined>();
      byPhase.set(phase, rssMb(child.process.pid));
      rss.set(child.name, byPhase);
    }
  };
  await sleep(500);
  recordRss('start');

  // --- 1. throughput: warm-up, then interleaved rounds
  const rounds = new Map<TargetKey, RunResult[]>(targets.map((t) => [t.key, []]));
  for (const target of targets) {
    if (WARMUP_S === 0) break;
    log(`warm-up ${LABELS[target.key]} (${WARMUP_S} s)`);
    await clearSimulatorLog(simulatorUrl);
    await cannon(target.url, target, { durationS: WARMUP_S });
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]).filter((t): t is Target => t !== undefined);
    for (const target of order) {
      await clearSimulatorLog(simulatorUrl);
      await sleep(300);
      const result = await cannon(target.url, target, { durationS: DURATION_S });
      rounds.get(target.key)?.push(result);
      log(`round ${round + 1}/${ROUNDS} ${LABELS[target.key].padEnd(16)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${fixed(result.p50, 1)} ms  p99 ${fixed(result.p99, 1)} ms${result.bad > 0 ? `  ${result.bad} BAD` : ''}`);
    }
  }
  recordRss('throughput');

  // --- 2. upstream calls per operation
  interface Count {
    ops: number;
    calls: number;
    bad: number;
    /** Gateways: the delta of gateway_upstream_calls_total over the window. */
    metricCalls?: number;
  }
  const counts = new Map<string, Count>();
  const countWindow = async (
    key: string,
    url: string,
    spec: { path: string; method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; expectBody?: string },
    metricsUrl: string | undefined,
  ): Promise<void> => {
    await sleep(200);
    await clearSimulatorLog(simulatorUrl);
    const before = metricsUrl === undefined ? undefined : metricSum(await gatewayMetrics(metricsUrl), 'gateway_upstream_calls_total');
    const result = await cannon(url, spec, { amount: COUNT_OPS });
    const calls = (await simulatorLog(simulatorUrl)).filter((r) => r.route !== 'other').length;
    const after = metricsUrl === undefined ? undefined : metricSum(await gatewayMetrics(metricsUrl), 'gateway_upstream_calls_total');
    counts.set(key, {
      ops: result.total,
      calls,
      bad: result.bad,
      ...(before === undefined || after === undefined ? {} : { metricCalls: after - before }),
    });
    log(`calls ${key.padEnd(28)} ${calls} upstream calls / ${result.total} operations${result.bad > 0 ? ` (${result.bad} bad)` : ''}`);
  };
  for (const target of targets) {
    if (target.key === 'simulator') continue;
    const metricsUrl = target.key === 'uncached' || target.key === 'cached' ? target.url : undefined;
    await countWindow(`batch:${target.key}`, target.url, target, metricsUrl);
    if (metricsUrl !== undefined) {
      for (const [scenario, query] of [['list', QUERY_LIST], ['list5', QUERY_LIST_RECIPIENTS]] as const) {
        const body = JSON.stringify({ query });
        const probe = await fetchText(`${target.url}/graphql`, { method: 'POST', headers: gqlHeaders, body });
        const parsed = JSON.parse(probe.text) as { errors?: unknown };
        if (probe.status !== 200 || parsed.errors !== undefined) throw new Error(`${LABELS[target.key]} ${scenario}: ${probe.text.slice(0, 300)}`);
        // No expectBody: list items may be in progress, their bodies change.
        await countWindow(`${scenario}:${target.key}`, target.url, { path: '/graphql', method: 'POST', headers: gqlHeaders, body }, metricsUrl);
      }
    }
  }
  recordRss('counts');

  // --- 3. the 50 000-recipient walk on the cached gateway
  interface Walk {
    firstMs: number;
    pageMs: number[];
    rssBefore: number | undefined;
    rssAfter: number | undefined;
    rssPeak: number | undefined;
    /** 3 s after the walk, idle (informational: no GC is forced). */
    rssLater: number | undefined;
    decodes: number;
    recipientDecodes: number;
    detailCalls: number;
    metricDetailCalls: number;
    recipientsSeen: number;
    /** From the gateway's /metrics, MB: V8 heap used, external memory (Buffers), cache bytes. */
    heapMb: [number, number];
    externalMb: [number, number];
    cacheMb: [number, number];
    error?: string;
  }
  let walk: Walk | undefined;
  const cachedGateway = gateways.get('cached');
  if (cachedGateway !== undefined) {
    log(`50k walk: first page, then ${PAGES} pages of 100 on the cached gateway`);
    const pid = cachedGateway.child.process.pid;
    const pool = new Pool(cachedGateway.url, { connections: 1, keepAliveTimeout: 60_000 });
    await sleep(1000);
    await clearSimulatorLog(simulatorUrl);
    const metricsBefore = await gatewayMetrics(cachedGateway.url);
    const rssBefore = rssMb(pid);
    const sampler = sampleRssPeak(pid, 20);
    const times: number[] = [];
    let after: string | null = null;
    let seen = 0;
    let error: string | undefined;
    for (let page = 0; page <= PAGES; page++) {
      const t0 = performance.now();
      const response = await pool.request({
        path: '/graphql',
        method: 'POST',
        headers: gqlHeaders,
        body: JSON.stringify({ query: QUERY_PAGE, variables: { id: bigId, after } }),
      });
      const text = await response.body.text();
      times.push(performance.now() - t0);
      type PageBody = {
        data?: { batchCall?: { recipients?: { edges: unknown[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } | null } | null };
        errors?: Array<{ message?: string; extensions?: { code?: string } }>;
      };
      const body = JSON.parse(text) as PageBody;
      const connection = body.data?.batchCall?.recipients;
      if (response.statusCode !== 200 || body.errors !== undefined || connection === undefined || connection === null) {
        error = `page ${page + 1}: HTTP ${response.statusCode} ${text.slice(0, 200)}`;
        break;
      }
      seen += connection.edges.length;
      if (connection.edges.length !== 100) {
        error = `page ${page + 1}: ${connection.edges.length} edges, expected 100`;
        break;
      }
      after = connection.pageInfo.endCursor;
      if (!connection.pageInfo.hasNextPage) break;
    }
    const rssPeak = sampler.stop();
    const rssAfter = rssMb(pid);
    const metricsAfter = await gatewayMetrics(cachedGateway.url);
    const detailCalls = (await simulatorLog(simulatorUrl)).filter((r) => r.route === 'detail' && r.batchId === bigId).length;
    await pool.close();
    await sleep(3000);
    const rssLater = rssMb(pid);
    walk = {
      rssLater,
      firstMs: times[0] ?? Number.NaN,
      pageMs: times.slice(1),
      rssBefore,
      rssAfter,
      rssPeak,
      decodes:
        metricSum(metricsAfter, 'gateway_upstream_responses_decoded_total', { route: 'detail' }) -
        metricSum(metricsBefore, 'gateway_upstream_responses_decoded_total', { route: 'detail' }),
      recipientDecodes:
        metricSum(metricsAfter, 'gateway_upstream_responses_decoded_total', { route: 'recipients' }) -
        metricSum(metricsBefore, 'gateway_upstream_responses_decoded_total', { route: 'recipients' }),
      detailCalls,
      metricDetailCalls:
        metricSum(metricsAfter, 'gateway_upstream_calls_total', { route: 'detail' }) - metricSum(metricsBefore, 'gateway_upstream_calls_total', { route: 'detail' }),
      recipientsSeen: seen,
      heapMb: [metricSum(metricsBefore, 'gateway_nodejs_heap_size_used_bytes') / 2 ** 20, metricSum(metricsAfter, 'gateway_nodejs_heap_size_used_bytes') / 2 ** 20],
      externalMb: [metricSum(metricsBefore, 'gateway_nodejs_external_memory_bytes') / 2 ** 20, metricSum(metricsAfter, 'gateway_nodejs_external_memory_bytes') / 2 ** 20],
      cacheMb: [metricSum(metricsBefore, 'gateway_cache_bytes') / 2 ** 20, metricSum(metricsAfter, 'gateway_cache_bytes') / 2 ** 20],
      ...(error === undefined ? {} : { error }),
    };
    log(`50k walk: first page ${walk.firstMs.toFixed(0)} ms, median ${median(walk.pageMs).toFixed(1)} ms${error === undefined ? '' : `, ERROR ${error}`}`);
  }
  recordRss('walk');

  // ---------------------------------------------------------------------------------------------
  // Report

  const med = (key: TargetKey, pick: (r: RunResult) => number): number => median((rounds.get(key) ?? []).map(pick));
  const spread = (key: TargetKey, pick: (r: RunResult) => number, digits: number): string => {
    const values = (rounds.get(key) ?? []).map(pick);
    if (values.length === 0) return '-';
    const m = median(values);
    return values.length === 1 ? fixed(m, digits) : `${fixed(m, digits)} (${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)})`;
  };
  const has = (key: TargetKey): boolean => (rounds.get(key)?.length ?? 0) > 0;
  const cols: TargetKey[] = [...ALL_TARGETS];
  const cell = (key: TargetKey, text: () => string): string => (has(key) ? text() : '-');
  const childName: Record<TargetKey, string> = { simulator: 'simulator', passthrough: 'passthrough', uncached: 'gateway-uncached', cached: 'gateway-cached' };

  const ptRps = med('passthrough', (r) => r.rps);
  const ptP99 = med('passthrough', (r) => r.p99);
  const rpsRatio = (key: TargetKey): number => med(key, (r) => r.rps) / ptRps;
  const p99Ratio = (key: TargetKey): number => med(key, (r) => r.p99) / ptP99;
  const badTotal = (key: TargetKey): number => (rounds.get(key) ?? []).reduce((sum, r) => sum + r.bad, 0);
  const canCompare = (key: TargetKey): boolean => has(key) && has('passthrough');

  const verdicts: Verdict[] = [];
  const verdict = (name: string, pass: boolean | undefined): string => {
    verdicts.push({ name, pass });
    return pass === undefined ? 'n/a' : pass ? 'PASS' : 'FAIL';
  };
  const check = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'as expected' : 'UNEXPECTED');

  const rows: string[][] = [];
  const row = (metric: string, values: Partial<Record<TargetKey, string>>, target = '', result = ''): void => {
    rows.push([metric, ...cols.map((k) => values[k] ?? '-'), target, result]);
  };
  const perTarget = (fn: (key: TargetKey) => string): Partial<Record<TargetKey, string>> =>
    Object.fromEntries(cols.map((k) => [k, cell(k, () => fn(k))]));

  // 1. throughput
  row(`[1] one batch, 10 fields: req/s, median (min–max) of ${ROUNDS}`, perTarget((k) => spread(k, (r) => r.rps, 0)));
  row('    latency p50 ms', perTarget((k) => spread(k, (r) => r.p50, 1)));
  row('    latency p99 ms', perTarget((k) => spread(k, (r) => r.p99, 1)));
  row('    non-2xx / errors / body mismatches, all rounds', perTarget((k) => String(badTotal(k))), '0', check(cols.filter(has).every((k) => badTotal(k) === 0)));
  const uncachedRps = canCompare('uncached') ? rpsRatio('uncached') : undefined;
  const uncachedP99 = canCompare('uncached') ? p99Ratio('uncached') : undefined;
  const cachedRps = canCompare('cached') ? rpsRatio('cached') : undefined;
  row('    throughput ÷ pass-through', {
    ...perTarget((k) => (canCompare(k) ? fixed(rpsRatio(k), 2) : '-')),
  }, 'uncached ≥ 0.50', verdict('uncached throughput ≥ 0.5 × pass-through', uncachedRps === undefined ? undefined : uncachedRps >= 0.5 && badTotal('uncached') === 0));
  row('    p99 ÷ pass-through', perTarget((k) => (canCompare(k) ? fixed(p99Ratio(k), 2) : '-')), 'uncached ≤ 2.00',
    verdict('uncached p99 ≤ 2 × pass-through', uncachedP99 === undefined ? undefined : uncachedP99 <= 2));
  const cachedCount = counts.get('batch:cached');
  row('    cached: throughput ÷ pass-through', { cached: cachedRps === undefined ? '-' : fixed(cachedRps, 2) }, 'cached ≥ 2.00',
    verdict('cached throughput ≥ 2 × pass-through', cachedRps === undefined ? undefined : cachedRps >= 2 && badTotal('cached') === 0));
  row('    CPU % of the process under test (median)', perTarget((k) => fixed(med(k, (r) => r.cpu.get(childName[k]) ?? Number.NaN), 0)));
  row('    CPU ms per request in that process (median)', perTarget((k) => fixed(med(k, (r) => (10 * (r.cpu.get(childName[k]) ?? Number.NaN)) / r.rps), 3)));
  row('    CPU % of the simulator (median)', perTarget((k) => fixed(med(k, (r) => r.cpu.get('simulator') ?? Number.NaN), 0)));
  row('    CPU % of the load generator (median)', perTarget((k) => fixed(med(k, (r) => r.cpu.get('client') ?? Number.NaN), 0)));
  row(`    CPU % machine busy, of ${availableParallelism() * 100} (median)`, perTarget((k) => fixed(med(k, (r) => r.cpu.get('machine') ?? Number.NaN), 0)));
  row('    CPU % not ours (other tenants, median)', perTarget((k) => fixed(med(k, (r) => r.cpu.get('others') ?? Number.NaN), 0)));

  // 2. upstream calls per operation
  const perOp = (key: string): string => {
    const c = counts.get(key);
    if (c === undefined) return '-';
    const mismatch = c.metricCalls !== undefined && c.metricCalls !== c.calls ? ` [metrics ${c.metricCalls}]` : '';
    return `${fixed(c.calls / c.ops, 3)} (${c.calls}/${c.ops})${c.bad > 0 ? ` ${c.bad} bad` : ''}${mismatch}`;
  };
  const ratioOf = (key: string): number | undefined => {
    const c = counts.get(key);
    return c === undefined || c.ops === 0 ? undefined : c.calls / c.ops;
  };
  const near = (key: string, expected: number): boolean | undefined => {
    const r = ratioOf(key);
    return r === undefined ? undefined : Math.abs(r - expected) < 1e-9 && (counts.get(key)?.bad ?? 0) === 0;
  };
  row(`[2] upstream calls / operation: the batch (${COUNT_OPS} ops)`, {
    passthrough: perOp('batch:passthrough'),
    uncached: perOp('batch:uncached'),
    cached: perOp('batch:cached'),
  }, 'pt 1, uncached 1, cached 0', (() => {
    const cachedZero = cachedCount === undefined ? undefined : cachedCount.calls === 0 && cachedCount.bad === 0;
    const others = [near('batch:passthrough', 1), near('batch:uncached', 1)].filter((v): v is boolean => v !== undefined);
    return `cached ${verdict('cached: 0 upstream calls for the batch', cachedZero)}; others ${check(others.length === 0 ? undefined : others.every(Boolean))}`;
  })());
  row('    list page (batchCalls first: 20)', { uncached: perOp('list:uncached'), cached: perOp('list:cached') }, 'uncached 1; cached (warm): reported',
    `uncached ${check(near('list:uncached', 1))}`);
  row('    list + recipients of 5 batches', { uncached: perOp('list5:uncached'), cached: perOp('list5:cached') }, 'uncached 1 + 5 = 6; cached (warm): reported',
    `uncached ${check(near('list5:uncached', 6))}`);

  // 3. the 50k walk
  if (walk !== undefined) {
    const pageMedian = median(walk.pageMs);
    const growth = walk.rssBefore === undefined || walk.rssAfter === undefined ? undefined : walk.rssAfter - walk.rssBefore;
    const walkOk = walk.error === undefined;
    row(`[3] 50k recipients (${(bigBytes / 1e6).toFixed(1)} MB body): first page ms`, { cached: fixed(walk.firstMs, 0) }, '', walkOk ? '' : `ERROR: ${walk.error ?? ''}`);
    row(`    next ${walk.pageMs.length} pages: median ms`, { cached: fixed(pageMedian, 1) }, '≤ 20', verdict('50k: page median ≤ 20 ms', walkOk && walk.pageMs.length > 0 ? pageMedian <= 20 : false));
    row('    next pages: p95 ms', { cached: fixed(percentile(walk.pageMs, 95), 1) });
    row('    RSS before → after (peak; 3 s idle later)', { cached: `${mb(walk.rssBefore)} → ${mb(walk.rssAfter)} (${mb(walk.rssPeak)}; ${mb(walk.rssLater)})` });
    const pair = ([a, b]: [number, number]): string => `${mb(a)} → ${mb(b)}`;
    row('    V8 heap used / external / gateway_cache_bytes, before → after', {
      cached: `${pair(walk.heapMb)} / ${pair(walk.externalMb)} / ${pair(walk.cacheMb)}`,
    });
    row('    RSS growth', { cached: growth === undefined ? 'n/a' : `${growth >= 0 ? '+' : ''}${growth.toFixed(0)} MB` }, '≤ 100 MB',
      verdict('50k: RSS growth ≤ 100 MB', growth === undefined ? undefined : growth <= 100));
    row('    detail decodes during the walk', { cached: String(walk.decodes) }, '1', verdict('50k: decoded once', walk.decodes === 1));
    row('    recipient arrays parsed during the walk', { cached: String(walk.recipientDecodes) }, '1',
      verdict('50k: recipients parsed once', walk.recipientDecodes === 1));
    row('    upstream detail calls during the walk', { cached: `${walk.detailCalls}${walk.metricDetailCalls !== walk.detailCalls ? ` [metrics ${walk.metricDetailCalls}]` : ''}` }, '1',
      verdict('50k: one upstream detail call', walk.detailCalls === 1));
  } else {
    row('[3] 50k recipients', { cached: 'skipped (no cached gateway)' });
  }

  // 4. memory
  const rssCell = (key: TargetKey, phase: Phase): string => {
    const value = rss.get(childName[key])?.get(phase);
    return value === undefined ? '-' : mb(value);
  };
  const phases: Array<[Phase, string]> = [
    ['start', '[4] RSS after start (idle)'],
    ['throughput', '    RSS after the throughput rounds'],
    ['counts', '    RSS after the call counting'],
    ['walk', '    RSS after the 50k walk'],
  ];
  for (const [phase, label] of phases) row(label, Object.fromEntries(cols.map((k) => [k, rssCell(k, phase)])));

  const decided = verdicts.filter((v) => v.pass !== undefined);
  const failed = decided.filter((v) => v.pass === false);
  const out: string[] = [];
  out.push('');
  out.push(`machine: ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  out.push(`command: BENCH_DURATION_S=${DURATION_S} BENCH_ROUNDS=${ROUNDS} BENCH_CONNECTIONS=${CONNECTIONS} BENCH_WARMUP_S=${WARMUP_S} BENCH_UPSTREAM_CONNECTIONS=${UPSTREAM_CONNECTIONS} BENCH_COUNT_OPS=${COUNT_OPS} BENCH_PAGES=${PAGES}${process.env['BENCH_TARGETS'] === undefined ? '' : ` BENCH_TARGETS=${TARGETS.join(',')}`}${Object.keys(GATEWAY_EXTRA_ENV).length > 0 ? ` BENCH_GATEWAY_ENV=${process.env['BENCH_GATEWAY_ENV'] ?? ''}` : ''} npm run bench   (process: ${[process.execPath, ...process.execArgv, ...process.argv.slice(1)].join(' ')})`);
  out.push(`load: autocannon in this process, ${CONNECTIONS} connections, pipelining 1; warm-up ${WARMUP_S} s per target, then ${ROUNDS} interleaved rounds × ${DURATION_S} s per target (order rotated each round), median of the rounds; ratios are of the medians`);
  out.push(`processes: ${children.map((c) => `${c.name} = ${c.command}`).join('; ')}`);
  out.push(`gateway: ${gatewayFrom}; NODE_ENV=production, bearer token, RATE_LIMIT_MAX=0, LOG_LEVEL=warn, UPSTREAM_MAX_CONCURRENCY=${UPSTREAM_CONNECTIONS}; cached: CACHE_ENABLED=true CACHE_MAX_BYTES=${CACHE_MAX_BYTES}; uncached: CACHE_ENABLED=false${Object.keys(GATEWAY_EXTRA_ENV).length > 0 ? `; extra: ${Object.entries(GATEWAY_EXTRA_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`);
  out.push(`batch: ${terminalId} (completed, 80 recipients): upstream body ${terminalBytes} bytes (simulator direct and pass-through send this), GraphQL response ${gatewayResponseBytes ?? 'n/a'} bytes; pass-through pool ${UPSTREAM_CONNECTIONS} connections`);
  out.push('');
  out.push(table(['metric', ...cols.map((k) => LABELS[k]), 'target', 'result'], rows));
  out.push('');
  for (const note of notes) out.push(`NOTE: ${note}`);
  out.push(
    decided.length === 0
      ? 'VERDICT: nothing decided (targets left out)'
      : failed.length === 0
        ? `VERDICT: PASS: all ${decided.length} targets met`
        : `VERDICT: FAIL: ${failed.length} of ${decided.length} targets missed: ${failed.map((v) => v.name).join('; ')}`,
  );
  out.push(`(bench run time ${((performance.now() - started) / 1000).toFixed(0)} s; exit code 0: this is a measurement)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  async () => {
    await stopAll();
    process.exit(0);
  },
  async (error: unknown) => {
    process.stderr.write(`bench aborted: ${error instanceof Error ? error.message : String(error)}\n`);
    for (const child of children) {
      if (!alive(child)) process.stderr.write(`${child.name} exited: code ${String(child.process.exitCode)}, signal ${String(child.process.signalCode)}\n`);
      if (child.output.length > 0) process.stderr.write(`--- last output of ${child.name}:\n${child.output.slice(-10).join('\n')}\n`);
    }
    await stopAll();
    process.exit(1);
  },
);
