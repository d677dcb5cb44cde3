/**
 * The upstream simulator's behaviour over real HTTP: auth and error shapes, list paging, the seeded
 * dataset, progress over (manual) time, store hooks, fault injection and the control endpoints.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import type { Simulator } from '../src/simulator/server.js';
import { startSimulator } from '../src/simulator/server.js';
import type { WireBatchCall, WireBatchCallDetail, WireRecipient, WireWorkspaceBatchCallsResponse } from '../src/upstream/types.js';

const KEY = 'sim-test-key';
const START = Date.UTC(2025, 5, 16, 9, 30);
const LIST = '/v1/convai/batch-calling/workspace';
const DETAIL = '/v1/convai/batch-calling/';

let sim: Simulator;
let clock: ManualClock;

beforeAll(async () => {
  clock = new ManualClock(START);
  sim = await startSimulator({ port: 0, apiKey: KEY, clock });
});

afterEach(() => {
  sim.faults.clear();
  clock.set(START);
});

afterAll(async () => {
  await sim.close();
});

interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

async function call<T = unknown>(path: string, init: RequestInit & { key?: string | null } = {}, base = sim.url): Promise<Reply<T>> {
  const { key = KEY, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key !== null) headers.set('xi-api-key', key);
  const res = await fetch(`${base}${path}`, { ...rest, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

const list = (query = ''): Promise<Reply<WireWorkspaceBatchCallsResponse>> => call(`${LIST}${query === '' ? '' : `?${query}`}`);
const detail = (id: string): Promise<Reply<WireBatchCallDetail>> => call(`${DETAIL}${encodeURIComponent(id)}`);

/** Walks every page; checks `has_more`/`next_doc` agree on each one. */
async function walk(params: Record<string, string>): Promise<WireWorkspaceBatchCallsResponse[]> {
  const pages: WireWorkspaceBatchCallsResponse[] = [];
  let lastDoc: string | null | undefined = null;
  do {
    const query = new URLSearchParams(params);
    if (lastDoc) query.set('last_doc', lastDoc);
    const { status, body } = await list(query.toString());
    expect(status).toBe(200);
    expect(body.has_more).toBe(body.next_doc !== null);
    if (body.has_more) expect(typeof body.next_doc).toBe('string');
    pages.push(body);
    lastDoc = body.next_doc;
    expect(pages.length).toBeLessThan(500);
  } while (lastDoc);
  return pages;
}

const idsOf = (pages: WireWorkspaceBatchCallsResponse[]): string[] => pages.flatMap((p) => p.batch_calls.map((b) => b.id));

async function allSummaries(): Promise<WireBatchCall[]> {
  return (await walk({ limit: '100' })).flatMap((p) => p.batch_calls);
}

interface ApiErrorBody {
  detail: { type: string; code: string; message: string; status: string; request_id: string; param: null };
}
interface ValidationBody {
  detail: Array<{ loc: string[]; msg: string; type: string; input: string }>;
}

describe('auth and error shapes', () => {
  test('no key, an empty key and a wrong key are 401 with a `detail` body; the right key is served', async () => {
    for (const path of [LIST, `${DETAIL}${sim.store.batchIds()[0] ?? ''}`]) {
      const missing = await call<ApiErrorBody>(path, { key: null });
      expect(missing.status).toBe(401);
      expect(missing.body.detail).toMatchObject({ code: 'missing_api_key', status: 'missing_api_key', type: 'authentication_error' });
      expect(typeof missing.body.detail.message).toBe('string');
      expect(typeof missing.body.detail.request_id).toBe('string');

      const empty = await call<ApiErrorBody>(path, { key: '' });
      expect(empty.status).toBe(401);
      expect(empty.body.detail.code).toBe('missing_api_key');

      const wrong = await call<ApiErrorBody>(path, { key: `${KEY}x` });
      expect(wrong.status).toBe(401);
      expect(wrong.body.detail.code).toBe('invalid_api_key');

      expect((await call(path)).status).toBe(200);
    }
  });

  test('without a configured key any non-empty key is accepted, and none is still 401', async () => {
    const open = await startSimulator({ port: 0, clock: new ManualClock(START) });
    try {
      expect((await call(LIST, { key: 'whatever' }, open.url)).status).toBe(200);
      expect((await call(LIST, { key: null }, open.url)).status).toBe(401);
    } finally {
      await open.close();
    }
  });

  test('unknown paths are 404, other methods 405, unknown batches 404', async () => {
    for (const path of ['/', '/v1/convai/agents', `${LIST}/extra`, DETAIL, `${DETAIL}a/b`]) {
      const res = await call<{ detail: string }>(path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).toEqual({ detail: 'Not Found' });
    }
    for (const [method, path] of [['POST', LIST], ['DELETE', `${DETAIL}${sim.store.batchIds()[0] ?? ''}`], ['PUT', LIST]] as const) {
      const res = await call<{ detail: string }>(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET');
      expect(res.body.detail).toBe('Method Not Allowed');
    }
    const unknown = await detail('btcal_doesnotexist');
    expect(unknown.status).toBe(404);
    expect((unknown.body as unknown as ApiErrorBody).detail).toMatchObject({ code: 'batch_call_not_found', type: 'not_found' });
  });

  test('a bad `limit` is 422 naming the parameter; a large one is clamped to 100', async () => {
    for (const [value, type] of [['abc', 'int_parsing'], ['1.5', 'int_parsing'], ['', 'int_parsing'], ['0', 'greater_than_equal'], ['-4', 'greater_than_equal']] as const) {
      const res = await call<ValidationBody>(`${LIST}?limit=${value}`);
      expect(res.status, value).toBe(422);
      expect(res.body.detail[0], value).toMatchObject({ loc: ['query', 'limit'], type, input: value });
    }
    const big = await list('limit=500');
    expect(big.status).toBe(200);
    expect(big.body.batch_calls).toHaveLength(100);
    expect(big.body.has_more).toBe(true);
    // No limit means the documented default of 100.
    expect((await list()).body.batch_calls).toHaveLength(100);
    expect((await list('limit=1')).body.batch_calls).toHaveLength(1);
  });

  test('a `last_doc` the simulator did not issue is 422', async () => {
    const issued = (await list('limit=5')).body.next_doc ?? '';
    const tampered = Buffer.from(Buffer.from(issued, 'base64url').toString('utf8').replace(/^v1\|\d+/, 'v1|0012'), 'utf8').toString('base64url');
    for (const token of ['garbage', sim.store.batchIds()[2] ?? '', `${issued}==`, Buffer.from('v9|1|x').toString('base64url'), tampered, 'a'.repeat(2000)]) {
      const res = await call<ValidationBody>(`${LIST}?last_doc=${encodeURIComponent(token)}`);
      expect(res.status, token).toBe(422);
      expect(res.body.detail[0]?.loc).toEqual(['query', 'last_doc']);
    }
    expect((await list(`last_doc=${issued}`)).status).toBe(200);
  });
});

describe('list paging', () => {
  test('covers every batch exactly once, newest first, at several page sizes', async () => {
    const ids = sim.store.batchIds();
    for (const limit of [100, 7, 13, 1]) {
      const pages = await walk({ limit: String(limit) });
      const seen = idsOf(pages);
      expect(seen).toEqual(ids);
      expect(new Set(seen).size).toBe(ids.length);
      expect(pages.length).toBe(Math.ceil(ids.length / limit));
      // Every page but the last is full; the last says there is no more.
      for (const page of pages.slice(0, -1)) expect(page.batch_calls).toHaveLength(limit);
      expect(pages.at(-1)).toMatchObject({ has_more: false, next_doc: null });
      const created = pages.flatMap((p) => p.batch_calls.map((b) => b.created_at_unix));
      for (let i = 1; i < created.length; i++) expect(created[i]).toBeLessThanOrEqual(created[i - 1] ?? Infinity);
    }
  });

  test('`agent_id` filters every page to that agent', async () => {
    const agents = sim.store.agents();
    let total = 0;
    for (const agent of agents) {
      const pages = await walk({ limit: '7', agent_id: agent.id });
      const items = pages.flatMap((p) => p.batch_calls);
      expect(items.length).toBeGreaterThan(0);
      expect(items.every((b) => b.agent_id === agent.id && b.agent_name === agent.name)).toBe(true);
      expect(items.map((b) => b.id)).toEqual(sim.store.batchIds(agent.id));
      total += items.length;
    }
    expect(total).toBe(sim.store.batchIds().length);
    expect((await list('agent_id=agent_nobody')).body).toEqual({ batch_calls: [], next_doc: null, has_more: false });
    // An empty filter is no filter.
    expect(idsOf([(await list('agent_id=&limit=100')).body])).toEqual(sim.store.batchIds().slice(0, 100));
  });

  test('a cursor resumes after its batch even when batches are added or removed meanwhile', async () => {
    const own = await startSimulator({ port: 0, clock: new ManualClock(START) });
    try {
      const ids = own.store.batchIds();
      const page = async (query: string): Promise<WireWorkspaceBatchCallsResponse> =>
        (await call<WireWorkspaceBatchCallsResponse>(`${LIST}?${query}`, { key: 'k' }, own.url)).body;
      const first = await page('limit=10');
      expect(first.batch_calls.map((b) => b.id)).toEqual(ids.slice(0, 10));
      // A new batch lists first; the cursor's own batch and the next one disappear.
      const added = own.store.addBatch({ recipients: 2 });
      expect(own.store.removeBatch(ids[9] ?? '')).toBe(true);
      expect(own.store.removeBatch(ids[10] ?? '')).toBe(true);
      expect(own.store.batchIds()[0]).toBe(added);
      const second = await page(`limit=10&last_doc=${first.next_doc ?? ''}`);
      expect(second.batch_calls.map((b) => b.id)).toEqual(ids.slice(11, 21));
    } finally {
      await own.close();
    }
  });
});

describe('dataset', () => {
  test('is realistic: agents, every status, both channels, big batches, more than one page', async () => {
    const summaries = await allSummaries();
    expect(summaries).toHaveLength(150);
    expect(sim.store.agents().length).toBeGreaterThanOrEqual(3);
    expect(new Set(summaries.map((b) => b.agent_id)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(summaries.map((b) => b.status))).toEqual(new Set(['pending', 'in_progress', 'completed', 'failed', 'cancelled']));

    const whatsapp = summaries.filter((b) => b.whatsapp_params);
    const phone = summaries.filter((b) => b.phone_provider);
    expect(whatsapp.length).toBeGreaterThan(0);
    expect(phone.length).toBeGreaterThan(0);
    expect(whatsapp.length + phone.length).toBe(summaries.length);
    for (const b of whatsapp) expect(b).toMatchObject({ phone_provider: null, phone_number_id: null });
    for (const b of phone) expect(typeof b.phone_number_id).toBe('string');
    expect(new Set(phone.map((b) => b.phone_provider))).toEqual(new Set(['twilio', 'sip_trunk', 'exotel']));

    expect(summaries.some((b) => b.total_calls_scheduled >= 300)).toBe(true);
    expect((await list('limit=100')).body.has_more).toBe(true);
    for (const b of summaries) {
      expect(b.total_calls_finished ?? 0).toBeLessThanOrEqual(b.total_calls_dispatched);
      expect(b.total_calls_dispatched).toBeLessThanOrEqual(b.total_calls_scheduled);
      if (b.status === 'pending') expect(b.total_calls_dispatched).toBe(0);
      if (b.status === 'completed') expect(b.total_calls_finished).toBe(b.total_calls_scheduled);
    }
  });

  test('details carry their recipients with per-channel contact data and dynamic variables', async () => {
    const summaries = await allSummaries();
    const biggest = summaries.reduce((a, b) => (b.total_calls_scheduled > a.total_calls_scheduled ? b : a));
    const whatsapp = summaries.find((b) => b.whatsapp_params);
    const inProgress = summaries.find((b) => b.status === 'in_progress');
    const pending = summaries.find((b) => b.status === 'pending');
    expect(whatsapp && inProgress && pending).toBeTruthy();

    const big = (await detail(biggest.id)).body;
    expect(big.recipients.length).toBeGreaterThanOrEqual(300);
    expect(big.recipients.length).toBe(big.total_calls_scheduled);
    expect(new Set(big.recipients.map((r) => r.id)).size).toBe(big.recipients.length);
    for (const r of big.recipients) {
      const vars = r.conversation_initiation_client_data?.dynamic_variables ?? {};
      expect(Object.keys(vars).length).toBeGreaterThan(0);
      expect(typeof vars['customer_name']).toBe('string');
      for (const value of Object.values(vars)) expect(value === null || ['string', 'number', 'boolean'].includes(typeof value)).toBe(true);
    }
    if (big.phone_provider) for (const r of big.recipients) expect(r.phone_number).toMatch(/^\+\d{8,15}$/);

    const wa = (await detail(whatsapp?.id ?? '')).body;
    expect(wa.recipients.length).toBeGreaterThan(0);
    for (const r of wa.recipients) {
      expect(r.phone_number).toBeNull();
      expect(r.whatsapp_user_id).toMatch(/^\d{8,15}$/);
    }

    const running = (await detail(inProgress?.id ?? '')).body;
    expect(running.recipients.filter((r) => r.status !== 'pending')).toHaveLength(running.total_calls_dispatched);
    expect(running.recipients.some((r) => ['dispatched', 'initiated', 'in_progress'].includes(r.status))).toBe(true);

    const waiting = (await detail(pending?.id ?? '')).body;
    expect(waiting.recipients.every((r) => r.status === 'pending' && r.conversation_id === null)).toBe(true);
  });

  test('is deterministic for a seed and clock, and differs between seeds', async () => {
    const again = await startSimulator({ port: 0, clock: new ManualClock(START) });
    const other = await startSimulator({ port: 0, seed: 7, clock: new ManualClock(START) });
    try {
      expect(again.store.batchIds()).toEqual(sim.store.batchIds());
      const id = sim.store.batchIds()[5] ?? '';
      expect(again.store.getBatch(id)).toEqual(sim.store.getBatch(id));
      expect(other.store.batchIds()).toHaveLength(150);
      expect(other.store.batchIds().filter((x) => sim.store.batchIds().includes(x))).toEqual([]);
    } finally {
      await Promise.all([again.close(), other.close()]);
    }
  });
});

describe('progress over time', () => {
  const ORDER: Record<string, number> = { pending: 0, dispatched: 1, initiated: 2, in_progress: 3, completed: 4, failed: 4, voicemail: 4, cancelled: 4 };

  test('a pending batch starts and an in_progress batch completes, counts only ever growing', async () => {
    const summaries = await allSummaries();
    const pendingId = summaries.filter((b) => b.status === 'pending').sort((a, b) => a.scheduled_time_unix - b.scheduled_time_unix)[0]?.id ?? '';
    const runningId =
      summaries
        .filter((b) => b.status === 'in_progress')
        .sort((a, b) => a.total_calls_scheduled - a.total_calls_dispatched - (b.total_calls_scheduled - b.total_calls_dispatched))[0]?.id ?? '';
    expect(pendingId).not.toBe('');
    expect(runningId).not.toBe('');

    const history = new Map<string, WireBatchCallDetail[]>([[pendingId, []], [runningId, []]]);
    for (let step = 0; step < 240; step++) {
      for (const [id, seen] of history) seen.push((await detail(id)).body);
      const pendingNow = history.get(pendingId)?.at(-1);
      const runningNow = history.get(runningId)?.at(-1);
      if (pendingNow?.status !== 'pending' && runningNow?.status === 'completed') break;
      clock.advance(30_000);
    }

    const pendingStates = (history.get(pendingId) ?? []).map((d) => d.status);
    expect(pendingStates[0]).toBe('pending');
    expect(pendingStates.at(-1)).not.toBe('pending');
    const runningStates = (history.get(runningId) ?? []).map((d) => d.status);
    expect(runningStates[0]).toBe('in_progress');
    expect(runningStates.at(-1)).toBe('completed');

    for (const seen of history.values()) {
      for (let i = 1; i < seen.length; i++) {
        const [before, after] = [seen[i - 1] as WireBatchCallDetail, seen[i] as WireBatchCallDetail];
        expect(after.total_calls_dispatched).toBeGreaterThanOrEqual(before.total_calls_dispatched);
        expect(after.total_calls_finished ?? 0).toBeGreaterThanOrEqual(before.total_calls_finished ?? 0);
        expect(after.total_calls_dispatched).toBeGreaterThanOrEqual(after.total_calls_finished ?? 0);
        expect(after.last_updated_at_unix).toBeGreaterThanOrEqual(before.last_updated_at_unix);
        after.recipients.forEach((r: WireRecipient, j) => {
          const prev = before.recipients[j] as WireRecipient;
          expect(r.id).toBe(prev.id);
          // A recipient only moves forward, and a finished call keeps its outcome.
          expect(ORDER[r.status] ?? -1).toBeGreaterThanOrEqual(ORDER[prev.status] ?? 99);
          if ((ORDER[prev.status] ?? 0) === 4) expect(r.status).toBe(prev.status);
          expect(r.updated_at_unix).toBeGreaterThanOrEqual(prev.updated_at_unix);
        });
      }
    }
    const done = history.get(runningId)?.at(-1);
    expect(done?.total_calls_finished).toBe(done?.total_calls_scheduled);
  });

  test('the list reflects the same progress as the detail', async () => {
    const id = (await allSummaries()).find((b) => b.status === 'in_progress')?.id ?? '';
    clock.advance(5 * 60_000);
    const item = (await allSummaries()).find((b) => b.id === id);
    const { recipients: _r, ...summary } = (await detail(id)).body;
    expect(item).toEqual(summary);
  });

  test('failed and cancelled batches stay frozen', async () => {
    const halted = (await allSummaries()).filter((b) => b.status === 'failed' || b.status === 'cancelled').slice(0, 4);
    const before = await Promise.all(halted.map((b) => detail(b.id)));
    clock.advance(3 * 24 * 3_600_000);
    const after = await Promise.all(halted.map((b) => detail(b.id)));
    expect(after.map((r) => r.body)).toEqual(before.map((r) => r.body));
  });
});

describe('store hooks', () => {
  test('addBatch serves a 50 000-recipient detail', async () => {
    const id = sim.store.addBatch({ recipients: 50_000, name: 'Load test' });
    try {
      const res = await detail(id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, name: 'Load test', status: 'completed', total_calls_scheduled: 50_000, total_calls_finished: 50_000 });
      expect(res.body.recipients).toHaveLength(50_000);
      expect(new Set(res.body.recipients.map((r) => r.id)).size).toBe(50_000);
      expect(sim.store.batchIds()[0]).toBe(id);
    } finally {
      sim.store.removeBatch(id);
    }
    expect((await detail(id)).status).toBe(404);
  });

  test('patchBatch values are served as is, unknown status strings and added or removed keys included', async () => {
    const id = sim.store.addBatch({ recipients: 3, status: 'in_progress' });
    try {
      sim.store.patchBatch(id, { status: 'paused', twilio_call_recording_enabled: true, branch_name: undefined });
      const res = await detail(id);
      expect(res.body.status).toBe('paused');
      expect((res.body as unknown as Record<string, unknown>)['twilio_call_recording_enabled']).toBe(true);
      expect('branch_name' in res.body).toBe(false);
      const item = (await list('limit=1')).body.batch_calls[0];
      expect(item).toMatchObject({ id, status: 'paused' });

      const recipient = res.body.recipients[1]?.id ?? '';
      sim.store.patchRecipient(id, recipient, { status: 'ringing' });
      expect((await detail(id)).body.recipients[1]).toMatchObject({ id: recipient, status: 'ringing' });
    } finally {
      sim.store.removeBatch(id);
    }
  });
});

describe('faults', () => {
  const firstId = (): string => sim.store.batchIds()[0] ?? '';

  test('status: custom status, body and Retry-After', async () => {
    const body = { detail: { status: 'concurrent_limit_exceeded', message: 'Slow down' } };
    sim.faults.add({ kind: 'status', status: 429, retryAfter: '7', body });
    const res = await list();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.body).toEqual(body);
  });

  test('status: default bodies in the upstream error shape, no Retry-After unless asked', async () => {
    for (const [status, code] of [[429, 'rate_limit_exceeded'], [503, 'system_busy'], [500, 'internal_error'], [403, 'insufficient_permissions']] as const) {
      sim.faults.clear();
      sim.faults.add({ kind: 'status', status });
      const res = await call<ApiErrorBody>(LIST);
      expect(res.status).toBe(status);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(res.body.detail.code).toBe(code);
    }
  });

  test('delay: answers normally after the delay', async () => {
    sim.faults.add({ kind: 'delay', delayMs: 150 });
    const started = performance.now();
    const res = await list('limit=3');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
    expect(res.body.batch_calls).toHaveLength(3);
  });

  test('delay then status: both apply, in order', async () => {
    sim.faults.add({ kind: 'delay', delayMs: 100, times: 1 });
    sim.faults.add({ kind: 'status', status: 502, times: 1 });
    const started = performance.now();
    const res = await list();
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    expect(res.status).toBe(502);
    expect(sim.faults.list()).toEqual([]);
  });

  test('reset: the connection drops before any response', async () => {
    sim.faults.add({ kind: 'reset', times: 1 });
    await expect(fetch(`${sim.url}${LIST}`, { headers: { 'xi-api-key': KEY } })).rejects.toThrow();
    expect((await list()).status).toBe(200);
  });

  test('malformed_json: 200 with a body that is not JSON', async () => {
    sim.faults.add({ kind: 'malformed_json' });
    const res = await fetch(`${sim.url}${LIST}`, { headers: { 'xi-api-key': KEY } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const text = await res.text();
    expect(text).toContain('<html>');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  test('truncated_json: 200 with the first half of the real body, correctly framed', async () => {
    const id = firstId();
    sim.faults.add({ kind: 'truncated_json', route: 'detail', times: 1 });
    const res = await fetch(`${sim.url}${DETAIL}${id}`, { headers: { 'xi-api-key': KEY } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(() => JSON.parse(text) as unknown).toThrow();
    const full = await (await fetch(`${sim.url}${DETAIL}${id}`, { headers: { 'xi-api-key': KEY } })).text();
    expect(full.startsWith(text)).toBe(true);
    expect(Buffer.byteLength(text)).toBe(Math.floor(Buffer.byteLength(full) / 2));
  });

  test('hang: the request is never answered (the client gives up)', async () => {
    sim.faults.add({ kind: 'hang', times: 1 });
    sim.clearRequests();
    const attempt = fetch(`${sim.url}${LIST}?hang=1`, { headers: { 'xi-api-key': KEY }, signal: AbortSignal.timeout(200) });
    await expect(attempt).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sim.requests.find((r) => r.url.endsWith('hang=1'))?.status).toBe(0);
    expect((await list()).status).toBe(200);
  });

  test('times: affects that many requests, then disappears', async () => {
    const fault = sim.faults.add({ kind: 'status', status: 500, times: 2 });
    expect(fault).toMatchObject({ id: expect.any(String), hits: 0 });
    expect((await list()).status).toBe(500);
    expect(sim.faults.list()).toMatchObject([{ id: fault.id, hits: 1 }]);
    expect((await list()).status).toBe(500);
    expect(sim.faults.list()).toEqual([]);
    expect((await list()).status).toBe(200);
  });

  test('route and batchId scope a fault', async () => {
    const [a, b] = sim.store.batchIds();
    sim.faults.add({ kind: 'status', status: 500, route: 'list' });
    expect((await list()).status).toBe(500);
    expect((await detail(a ?? '')).status).toBe(200);

    sim.faults.clear();
    sim.faults.add({ kind: 'status', status: 503, route: 'detail', batchId: a ?? '' });
    expect((await detail(a ?? '')).status).toBe(503);
    expect((await detail(b ?? '')).status).toBe(200);
    expect((await list()).status).toBe(200);

    sim.faults.clear();
    sim.faults.add({ kind: 'status', status: 502, route: 'detail' });
    expect((await detail(b ?? '')).status).toBe(502);
    expect((await detail('btcal_unknown')).status).toBe(502);
    expect((await list()).status).toBe(200);
  });
});

describe('control endpoints', () => {
  const control = (path: string, init: RequestInit = {}): Promise<Reply<Record<string, unknown>>> =>
    call(`/__simulator/${path}`, { key: null, ...init });
  const post = (spec: unknown): Promise<Reply<Record<string, unknown>>> =>
    control('faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof spec === 'string' ? spec : JSON.stringify(spec) });

  test('POST, GET and DELETE /__simulator/faults manage faults over HTTP', async () => {
    const created = await post({ kind: 'status', status: 502, route: 'list', times: 1 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'status', status: 502, route: 'list', times: 1, hits: 0 });
    const id = String(created.body['id']);

    expect((await control('faults')).body).toEqual({ faults: [created.body] });
    expect((await list()).status).toBe(502);
    expect((await control('faults')).body).toEqual({ faults: [] });

    const second = await post({ kind: 'delay', delayMs: 10 });
    const third = await post({ kind: 'hang', route: 'detail', batchId: 'btcal_x' });
    expect((await control(`faults/${String(second.body['id'])}`, { method: 'DELETE' })).body).toEqual({ removed: second.body['id'] });
    expect((await control(`faults/${String(second.body['id'])}`, { method: 'DELETE' })).status).toBe(404);
    expect(sim.faults.list().map((f) => f.id)).toEqual([third.body['id']]);
    expect(id).not.toBe(third.body['id']);

    await post({ kind: 'reset' });
    const cleared = await control('faults', { method: 'DELETE' });
    expect(cleared).toMatchObject({ status: 200, body: { faults: [] } });
    expect(sim.faults.list()).toEqual([]);
  });

  test('a bad fault spec is 400 and adds nothing', async () => {
    const bad: unknown[] = [
      'not json',
      [],
      { kind: 'explode' },
      { kind: 'status' },
      { kind: 'status', status: 99 },
      { kind: 'delay' },
      { kind: 'delay', delayMs: -1 },
      { kind: 'status', status: 500, times: 0 },
      { kind: 'status', status: 500, route: 'everything' },
      { kind: 'status', status: 500, batchId: '' },
      { kind: 'status', status: 500, retryAfter: 'a\r\nx-injected: 1' },
    ];
    for (const spec of bad) {
      const res = await post(spec);
      expect(res.status, JSON.stringify(spec)).toBe(400);
      expect(typeof res.body['error']).toBe('string');
    }
    expect(sim.faults.list()).toEqual([]);
    expect((await control('nothing')).status).toBe(404);
  });

  test('GET and DELETE /__simulator/requests expose and clear the request log', async () => {
    sim.clearRequests();
    await list('limit=2');
    await detail('btcal_missing');
    const logged = await control('requests');
    expect(logged.status).toBe(200);
    expect(logged.body['requests']).toEqual([
      { method: 'GET', url: `${LIST}?limit=2`, route: 'list', status: 200 },
      { method: 'GET', url: `${DETAIL}btcal_missing`, route: 'detail', batchId: 'btcal_missing', status: 404 },
    ]);
    // Control requests are not logged; the HTTP view leaves out headers (they carry the key).
    expect(sim.requests).toHaveLength(2);
    expect((await control('requests', { method: 'DELETE' })).body).toEqual({ requests: [] });
    expect(sim.requests).toHaveLength(0);
  });

  test('the request log records the raw URL, lower-cased headers and the status', async () => {
    sim.clearRequests();
    const raw = `${LIST}?limit=7&agent_id=a%20b&x=%2F..%2F`;
    await call(raw, { headers: { 'X-Trace-Id': 'trace-1' } });
    await call(`${DETAIL}btcal%5Fencoded`);
    await call(LIST, { key: null });
    await call(LIST, { method: 'POST' });
    const [first, second, third, fourth] = sim.requests;
    expect(first).toMatchObject({ method: 'GET', url: raw, route: 'list', status: 200 });
    expect(first?.headers['x-trace-id']).toBe('trace-1');
    expect(first?.headers['xi-api-key']).toBe(KEY);
    expect(second).toMatchObject({ url: `${DETAIL}btcal%5Fencoded`, route: 'detail', batchId: 'btcal_encoded', status: 404 });
    expect(third).toMatchObject({ status: 401 });
    expect(third?.headers['xi-api-key']).toBeUndefined();
    expect(fourth).toMatchObject({ method: 'POST', status: 405 });
    sim.clearRequests();
    expect(sim.requests).toHaveLength(0);
  });

  test('the log keeps the newest requests up to its bound; control can be turned off', async () => {
    const small = await startSimulator({ port: 0, clock: new ManualClock(START), maxRecordedRequests: 3, control: false });
    try {
      for (let i = 1; i <= 5; i++) await call(`${LIST}?limit=${i}`, { key: 'k' }, small.url);
      expect(small.requests.map((r) => r.url)).toEqual([`${LIST}?limit=3`, `${LIST}?limit=4`, `${LIST}?limit=5`]);
      const res = await call('/__simulator/faults', { key: 'k' }, small.url);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ detail: 'Not Found' });
    } finally {
      await small.close();
    }
  });
});
