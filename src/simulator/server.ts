import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { UPSTREAM_PATHS } from '../upstream/types.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';
import type { Fault } from './faults.js';
import { FaultController, FaultSpecError, parseFaultSpec } from './faults.js';
import { InvalidCursorError, MAX_PAGE_SIZE, SimulatorStore } from './store.js';

export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Only this `xi-api-key` is accepted; any non-empty key when absent. */
  apiKey?: string;
  seed?: number;
  clock?: Clock;
  /** Serve `/__simulator/*` (faults and request log over HTTP). Default true. */
  control?: boolean;
  /** Requests kept in the log; older ones are dropped. Default 10 000. */
  maxRecordedRequests?: number;
}

export interface RecordedRequest {
  method: string;
  /** The raw request target, exactly as received (path and query). */
  url: string;
  route: 'list' | 'detail' | 'other';
  /** Detail requests: the decoded batch id. */
  batchId?: string;
  /** Header names lower-cased; repeated headers joined by ", ". */
  headers: Record<string, string>;
  status: number;
}

export interface Simulator {
  url: string;
  port: number;
  store: SimulatorStore;
  faults: FaultController;
  clock: Clock;
  /** Every upstream-API request received since the last clear (control requests excluded). */
  readonly requests: readonly RecordedRequest[];
  /** Upstream-API requests being handled right now (a request ends when its connection closes). */
  readonly inFlight: number;
  /** Most upstream-API requests being handled at once since the last `clearRequests()`. */
  readonly peakInFlight: number;
  clearRequests(): void;
  close(): Promise<void>;
}

const CONTROL_PREFIX = '/__simulator/';
const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** Starts the upstream simulator: a real HTTP server speaking the batch-calling API. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const clock = options.clock ?? realClock;
  const store = new SimulatorStore({ clock, ...(options.seed === undefined ? {} : { seed: options.seed }) });
  const faults = new FaultController();
  const requests: RecordedRequest[] = [];
  const maxRecorded = options.maxRecordedRequests ?? 10_000;
  const control = options.control ?? true;
  let inFlight = 0;
  let peakInFlight = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { detail: { status: 'internal_error', message: 'Simulator error' } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (control && rawUrl.startsWith(CONTROL_PREFIX)) {
      await handleControl(req, res, rawUrl);
      return;
    }
    const target = route(rawUrl);
    const record: RecordedRequest = { method: req.method ?? 'GET', url: rawUrl, route: target.route, headers: headersOf(req), status: 0 };
    if (target.batchId !== undefined) record.batchId = target.batchId;
    requests.push(record);
    if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
    res.on('finish', () => (record.status = res.statusCode));
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    res.once('close', () => inFlight--);

    if (target.route === 'other') {
      send(res, 404, { detail: 'Not Found' });
      return;
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      send(res, 405, { detail: 'Method Not Allowed' });
      return;
    }
    const key = req.headers['xi-api-key'];
    if (typeof key !== 'string' || key === '' || (options.apiKey !== undefined && key !== options.apiKey)) {
      send(res, 401, apiError(key === undefined || key === '' ? 'missing_api_key' : 'invalid_api_key',
        key === undefined || key === '' ? 'Missing xi-api-key header' : 'Invalid API key', 'authentication_error'));
      return;
    }

    let body: Buffer | undefined;
    const produce = (): { status: number; body: Buffer } => {
      if (target.route === 'detail') {
        const detail = store.detailBody(target.batchId ?? '');
        return detail === undefined
          ? { status: 404, body: json(apiError('batch_call_not_found', 'Batch call not found', 'not_found')) }
          : { status: 200, body: detail };
      }
      return listResponse(store, new URLSearchParams(target.query));
    };

    for (const fault of faults.take(target.route === 'detail' ? { route: 'detail', batchId: target.batchId ?? '' } : { route: 'list' })) {
      if (fault.kind === 'delay') {
        const closed = new AbortController();
        res.once('close', () => closed.abort());
        await sleep(fault.delayMs ?? 0, undefined, { signal: closed.signal }).catch(() => undefined);
        if (closed.signal.aborted) return;
        continue;
      }
      applyFault(fault, res, () => (body ??= produce().body));
      return;
    }
    const result = produce();
    res.writeHead(result.status, { ...JSON_HEADERS, 'content-length': result.body.length, 'request-id': randomUUID() });
    res.end(result.body);
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, rawUrl: string): Promise<void> {
    const path = rawUrl.split('?')[0] ?? '';
    const method = req.method ?? 'GET';
    if (path === `${CONTROL_PREFIX}faults`) {
      if (method === 'GET') return send(res, 200, { faults: faults.list() });
      if (method === 'DELETE') {
        faults.clear();
        return send(res, 200, { faults: [] });
      }
      if (method === 'POST') {
        try {
          const spec = parseFaultSpec(JSON.parse(await readBody(req, 64 * 1024)) as unknown);
          return send(res, 201, faults.add(spec));
        } catch (error) {
          const message = error instanceof FaultSpecError ? error.message : 'body must be a JSON fault spec';
          return send(res, 400, { error: message });
        }
      }
    }
    const one = path.startsWith(`${CONTROL_PREFIX}faults/`) ? path.slice(`${CONTROL_PREFIX}faults/`.length) : null;
    if (one !== null && method === 'DELETE') {
      return faults.remove(one) ? send(res, 200, { removed: one }) : send(res, 404, { error: 'no such fault' });
    }
    if (path === `${CONTROL_PREFIX}requests`) {
      if (method === 'GET') return send(res, 200, { requests: requests.map(({ headers: _h, ...rest }) => rest) });
      if (method === 'DELETE') {
        requests.length = 0;
        return send(res, 200, { requests: [] });
      }
    }
    send(res, 404, { error: 'unknown control endpoint' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    store,
    faults,
    clock,
    get requests() {
      return requests;
    },
    get inFlight() {
      return inFlight;
    },
    get peakInFlight() {
      return peakInFlight;
    },
    clearRequests: () => {
      requests.length = 0;
      peakInFlight = inFlight;
    },
    close: () => closeServer(server),
  };
}

interface Target {
  route: 'list' | 'detail' | 'other';
  batchId?: string;
  query: string;
}

/** Only the two documented shapes are served; anything else is a 404, as upstream. */
function route(rawUrl: string): Target {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  if (path === UPSTREAM_PATHS.list) return { route: 'list', query };
  if (path.startsWith(UPSTREAM_PATHS.detailPrefix)) {
    const segment = path.slice(UPSTREAM_PATHS.detailPrefix.length);
    if (segment !== '' && !segment.includes('/')) {
      try {
        return { route: 'detail', batchId: decodeURIComponent(segment), query };
      } catch {
        return { route: 'other', query };
      }
    }
  }
  return { route: 'other', query };
}

function listResponse(store: SimulatorStore, query: URLSearchParams): { status: number; body: Buffer } {
  const rawLimit = query.get('limit');
  let limit = MAX_PAGE_SIZE;
  if (rawLimit !== null) {
    if (!/^-?\d+$/.test(rawLimit.trim())) {
      return validationError(['query', 'limit'], 'Input should be a valid integer, unable to parse string as an integer', 'int_parsing', rawLimit);
    }
    limit = Number(rawLimit);
    if (limit < 1) return validationError(['query', 'limit'], 'Input should be greater than or equal to 1', 'greater_than_equal', rawLimit);
  }
  const agentId = query.get('agent_id');
  try {
    const page = store.listBatches({ limit, lastDoc: query.get('last_doc'), agentId: agentId === '' ? null : agentId });
    return { status: 200, body: json(page) };
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      return validationError(['query', 'last_doc'], 'Invalid pagination token', 'value_error', query.get('last_doc') ?? '');
    }
    throw error;
  }
}

function validationError(loc: string[], msg: string, type: string, input: string): { status: number; body: Buffer } {
  return { status: 422, body: json({ detail: [{ loc, msg, type, input }] }) };
}

/** The newer upstream error body. */
function apiError(code: string, message: string, type: string): unknown {
  return { detail: { type, code, message, status: code, request_id: randomUUID(), param: null } };
}

function applyFault(fault: Fault, res: ServerResponse, realBody: () => Buffer): void {
  switch (fault.kind) {
    case 'status': {
      const status = fault.status ?? 500;
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      const body = fault.body ?? defaultErrorBody(status);
      res.writeHead(status, { ...JSON_HEADERS, ...headers });
      res.end(json(body));
      return;
    }
    case 'reset':
      res.socket?.resetAndDestroy();
      return;
    case 'malformed_json':
      res.writeHead(200, JSON_HEADERS);
      res.end('<html><body>502 Bad Gateway</body></html>');
      return;
    case 'truncated_json': {
      const body = realBody();
      const half = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': half.length });
      res.end(half);
      return;
    }
    case 'hang':
      return;
    case 'delay':
      return;
  }
}

function defaultErrorBody(status: number): unknown {
  if (status === 401) return apiError('invalid_api_key', 'Invalid API key', 'authentication_error');
  if (status === 403) return apiError('insufficient_permissions', 'The API key lacks the convai_read permission', 'authorization_error');
  if (status === 404) return apiError('batch_call_not_found', 'Batch call not found', 'not_found');
  if (status === 422) return { detail: [{ loc: ['query', 'limit'], msg: 'Input should be a valid integer', type: 'int_parsing' }] };
  if (status === 429) return apiError('rate_limit_exceeded', 'Too many requests', 'rate_limit_error');
  if (status === 503) return apiError('system_busy', 'The system is experiencing heavy traffic, please try again later', 'service_unavailable');
  return apiError('internal_error', 'Internal server error', 'internal_error');
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = json(value);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': body.length });
  res.end(body);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new FaultSpecError('body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
