import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createErrorMasker, type App } from './app.js';
import { createUnknownEnumReporter } from './context.js';
import { createFastPath, type Fallback } from './fast-path.js';
import { schema } from './schema/index.js';
import { Gatekeeper } from './security/plugins.js';
import type { Config } from './config.js';
import type { Timers } from './live/timers.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Secret } from './secret.js';
import { startSimulator, type Simulator } from './simulator/server.js';
import { UpstreamClient } from './upstream/client.js';
import { createServices } from './services.js';

export interface Gateway {
  /** e.g. http://127.0.0.1:4000 */
  url: string;
  port: number;
  /** Demo mode only: the embedded upstream simulator. */
  simulator: Simulator | undefined;
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
}

export interface GatewayOptions {
  config: Config;
  logger: Logger;
  /** What the live watch schedules its polls on; Node's timers by default (tests pass ManualTimers). */
  liveTimers?: Timers | undefined;
}

/**
 * Starts the gateway's HTTP server. In demo mode (no API key) it first starts the upstream
 * simulator on a loopback port with a random key, and points the upstream client at it.
 */
export async function startGateway({ config, logger, liveTimers }: GatewayOptions): Promise<Gateway> {
  let simulator: Simulator | undefined;
  let baseUrl = config.upstream.baseUrl;
  let apiKey = config.upstream.apiKey;
  if (apiKey === undefined) {
    const demoKey = randomBytes(24).toString('base64url');
    simulator = await startSimulator({ port: 0, host: '127.0.0.1', apiKey: demoKey, control: false });
    baseUrl = simulator.url;
    apiKey = new Secret(demoKey);
    logger.warn(
      { simulator: simulator.url, batches: simulator.store.batchIds().length },
      'DEMO MODE: ELEVENLABS_API_KEY is not set, serving simulated batch calls from the embedded upstream simulator',
    );
  }

  const metrics = new Metrics();
  const upstream = new UpstreamClient({
    ...config.upstream,
    baseUrl,
    apiKey,
    logger: logger.child({ component: 'upstream' }),
    onCall: (route, outcome) => metrics.upstreamCalls.inc({ route, outcome }),
    onDecode: (route) => metrics.decoded.inc({ route }),
  });
  metrics.observe(upstream);
  const gatekeeper = new Gatekeeper(config.security, logger);
  const reportUnknownEnum = createUnknownEnumReporter(logger);
  const services = createServices({ config, upstream, logger, reportUnknownEnum, liveTimers });
  metrics.observeLive(services.live);
  const app = createApp({ config, upstream, logger, gatekeeper, reportUnknownEnum, services });
  const toYoga: Fallback = (req, res, body) => {
    if (req.url !== '/health' && req.url !== '/ready') metrics.requests.inc({ path: 'yoga' });
    if (body === undefined) void app(req, res);
    else void replay(app, req, res, body);
  };
  const fastPath = config.fastPath
    ? createFastPath({ config, schema, upstream, logger, gatekeeper, reportUnknownEnum, mask: createErrorMasker(logger).mask,
      onServed: () => metrics.requests.inc({ path: 'fast' }), services })
    : undefined;
  const maxBody = config.security.maxBodyBytes;
  const server = createServer((req, res) => {
    if (config.metrics && req.method === 'GET' && req.url === '/metrics') {
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      });
      return;
    }
    if (!admitBody(req, res, maxBody)) return;
    if (fastPath === undefined) toYoga(req, res);
    else fastPath(req, res, toYoga);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;

  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    await upstream.close();
    await simulator?.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '[::]' || host === '0.0.0.0' ? 'localhost' : host}:${address.port}`;
  logger.info({ url: `${url}/graphql`, mode: config.mode, demo: simulator !== undefined, graphiql: config.graphiql }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    simulator,
    close: (graceMs = 20_000) => (closing ??= (services.live.close(), shutdown(server, graceMs, async (remainingMs) => {
      // Calls not tied to a client request (a readiness probe) get what is left of the grace period.
      await upstream.close(remainingMs);
      await simulator?.close();
    }))),
  };
}

/** Hands yoga a request whose body the fast path has already read. */
async function replay(app: App, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  try {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const response = await app.fetch(url, { method: req.method ?? 'POST', headers, body: new Uint8Array(body) }, { req, res });
    const payload = Buffer.from(await response.arrayBuffer());
    response.headers.forEach((value, name) => res.setHeader(name, value));
    res.writeHead(response.status, { 'content-length': payload.length });
    res.end(payload);
  } catch {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}

/**
 * Request bodies are bounded before anything reads them: a body must declare its length
 * (Content-Length, no chunked streaming), and that length must be within the limit.
 */
function admitBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return true;
  const declared = req.headers['content-length'];
  const refuse = (status: number, message: string): false => {
    const body = JSON.stringify({ errors: [{ message, extensions: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'LENGTH_REQUIRED' } }] });
    // Close the connection: the unread body must not be parsed as a next request.
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    res.end(body);
    return false;
  };
  if (req.headers['transfer-encoding'] !== undefined || declared === undefined) {
    return refuse(411, 'A request body needs a Content-Length header');
  }
  if (Number(declared) > maxBytes) return refuse(413, `Request body over ${maxBytes} bytes`);
  return true;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stop accepting; idle keep-alive sockets close now, busy ones after their response or the grace period. */
async function shutdown(server: Server, graceMs: number, release: (remainingMs: number) => Promise<void>): Promise<void> {
  const started = Date.now();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
  });
  await Promise.race([closed, deadline]);
  clearInterval(idleSweep);
  clearTimeout(timer);
  await release(Math.max(0, graceMs - (Date.now() - started)));
}
