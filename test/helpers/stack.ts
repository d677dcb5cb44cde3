import { loadConfig } from '../../src/config.js';
import type { Timers } from '../../src/live/timers.js';
import { createLogger } from '../../src/logger.js';
import { startGateway, type Gateway } from '../../src/server.js';
import type { Clock } from '../../src/simulator/clock.js';
import { startSimulator, type RecordedRequest, type Simulator } from '../../src/simulator/server.js';

/** A key that is easy to search for in responses and logs. */
export const TEST_API_KEY = 'sk_test_9f3c2e1d0b8a7f6e5d4c3b2a1f0e9d8c';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: T | null; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }> };
}

export interface Stack {
  simulator: Simulator;
  gateway: Gateway;
  /** Every JSON log line the gateway wrote. */
  logs: string[];
  /** Every response body `gql` received. */
  responses: string[];
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** Upstream API requests received by the simulator since the last `resetCalls()`. */
  calls(route?: RecordedRequest['route']): RecordedRequest[];
  resetCalls(): void;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Extra gateway environment (UPSTREAM_TIMEOUT_MS etc.). */
  env?: Record<string, string>;
  seed?: number;
  clock?: Clock;
  /** Sent with every `gql` request (e.g. an Authorization header); per-call headers win. */
  headers?: Record<string, string>;
  /** What the gateway's live watch schedules its polls on (e.g. ManualTimers); Node's timers by default. */
  liveTimers?: Timers;
}

/** The simulator and the gateway as real HTTP servers on loopback, wired together. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const simulator = await startSimulator({
    apiKey: TEST_API_KEY,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const logs: string[] = [];
  const responses: string[] = [];
  const config = loadConfig({
    ELEVENLABS_API_KEY: TEST_API_KEY,
    ELEVENLABS_BASE_URL: simulator.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    // Tests count upstream calls per operation; the cross-request cache has its own tests.
    CACHE_ENABLED: 'false',
    ...options.env,
  });
  const logger = createLogger({ level: config.logLevel, destination: { write: (line: string) => void logs.push(line) } });
  const gateway = await startGateway({ config, logger, liveTimers: options.liveTimers });
  const endpoint = `${gateway.url}/graphql`;

  return {
    simulator,
    gateway,
    logs,
    responses,
    async gql<T>(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...options.headers, ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      responses.push(text);
      return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as GraphQLResponse<T>['body'] };
    },
    calls: (route) => simulator.requests.filter((r) => route === undefined || r.route === route),
    resetCalls: () => simulator.clearRequests(),
    async close() {
      await gateway.close(1_000);
      await simulator.close();
    },
  };
}

/** The `extensions.code` of each error, in order. */
export function codes(response: GraphQLResponse<unknown>): unknown[] {
  return (response.body.errors ?? []).map((e) => e.extensions?.['code']);
}
