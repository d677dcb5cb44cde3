/**
 * The simulator is faithful to the seeds' OpenAPI schemas: every list page and every batch detail
 * it serves, fetched over real HTTP, validates against the schemas in `seeds/*.md`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import type { Simulator } from '../src/simulator/server.js';
import { startSimulator } from '../src/simulator/server.js';
import type { WireBatchCallDetail, WireWorkspaceBatchCallsResponse } from '../src/upstream/types.js';
import {
  seedResponseSchemaName,
  validateAgainstSeed,
  validateDetailResponse,
  validateSeedResponse,
} from './helpers/seed-schemas.js';

const API_KEY = 'contract-test-key';
const START = Date.UTC(2025, 5, 16, 9, 30);
const MINUTE = 60_000;

let sim: Simulator;
let clock: ManualClock;

beforeAll(async () => {
  clock = new ManualClock(START);
  sim = await startSimulator({ port: 0, apiKey: API_KEY, clock });
});

afterAll(async () => {
  await sim.close();
});

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sim.url}${path}`, { headers: { 'xi-api-key': API_KEY } });
  return { status: res.status, body: (await res.json()) as unknown };
}

/** Walks the whole list by `last_doc`, validating each page; returns the pages. */
async function walkList(limit: number, errors: string[]): Promise<WireWorkspaceBatchCallsResponse[]> {
  const pages: WireWorkspaceBatchCallsResponse[] = [];
  let lastDoc: string | null | undefined = null;
  do {
    const query = new URLSearchParams({ limit: String(limit) });
    if (lastDoc) query.set('last_doc', lastDoc);
    const { status, body } = await getJson(`/v1/convai/batch-calling/workspace?${query.toString()}`);
    expect(status).toBe(200);
    errors.push(...validateSeedResponse('list', '200', body).map((e) => `page ${pages.length} (limit ${limit}): ${e}`));
    const page = body as WireWorkspaceBatchCallsResponse;
    pages.push(page);
    lastDoc = page.next_doc;
    expect(pages.length).toBeLessThan(200);
  } while (lastDoc);
  return pages;
}

async function fetchAllDetails(ids: string[], errors: string[]): Promise<WireBatchCallDetail[]> {
  const details: WireBatchCallDetail[] = [];
  for (const id of ids) {
    const { status, body } = await getJson(`/v1/convai/batch-calling/${encodeURIComponent(id)}`);
    expect(status, id).toBe(200);
    errors.push(...validateDetailResponse(body).map((e) => `${id}: ${e}`));
    details.push(body as WireBatchCallDetail);
  }
  return details;
}

describe('seed schema helper', () => {
  test('finds the response schema of each documented path', () => {
    expect(seedResponseSchemaName('detail', '200')).toBe('BatchCallDetailedResponse');
    expect(seedResponseSchemaName('list', '200')).toBe('WorkspaceBatchCallsResponse');
    expect(seedResponseSchemaName('list', '422')).toBe('HTTPValidationError');
    // The older detail page documents a 422 without a body schema.
    expect(seedResponseSchemaName('detail', '422')).toBeUndefined();
  });

  test('rejects deliberately broken bodies, so the contract checks below can fail', async () => {
    const id = sim.store.batchIds()[0] ?? '';
    const detail = (await getJson(`/v1/convai/batch-calling/${id}`)).body as Record<string, unknown>;
    expect(validateDetailResponse(detail)).toEqual([]);

    const recipients = detail['recipients'] as Array<Record<string, unknown>>;
    const broken = {
      ...detail,
      status: 'exploded',
      total_calls_finished: 'many',
      recipients: [{ ...recipients[0], created_at_unix: '2025-01-01', conversation_id: undefined }],
    };
    const errors = validateDetailResponse(JSON.parse(JSON.stringify(broken)));
    expect(errors.some((e) => e.includes('detail:BatchCallDetailedResponse /status'))).toBe(true);
    expect(errors.some((e) => e.includes('/recipients/0/created_at_unix'))).toBe(true);
    expect(errors.some((e) => e.includes("required property 'conversation_id'"))).toBe(true);
    // The newer field is only checked by the list page's schema.
    expect(errors.some((e) => e.includes('list:BatchCallResponse /total_calls_finished'))).toBe(true);

    const { recipients: _r, ...withoutRecipients } = detail;
    expect(validateDetailResponse(withoutRecipients).some((e) => e.includes("required property 'recipients'"))).toBe(true);
    // The older page alone does not know the newer fields: missing ones fail only the newer schema.
    const { telephony_call_config: _t, ...olderShape } = detail;
    expect(validateSeedResponse('detail', '200', olderShape)).toEqual([]);
    expect(validateDetailResponse(olderShape).some((e) => e.includes("required property 'telephony_call_config'"))).toBe(true);

    const list = (await getJson('/v1/convai/batch-calling/workspace?limit=2')).body as WireWorkspaceBatchCallsResponse;
    expect(validateSeedResponse('list', '200', list)).toEqual([]);
    expect(validateSeedResponse('list', '200', { ...list, has_more: 'yes' }).length).toBeGreaterThan(0);
    expect(validateSeedResponse('list', '200', { next_doc: null }).some((e) => e.includes("required property 'batch_calls'"))).toBe(true);
    const item = { ...list.batch_calls[0], phone_provider: 'carrier_pigeon' };
    expect(validateSeedResponse('list', '200', { ...list, batch_calls: [item] }).some((e) => e.includes('/batch_calls/0/phone_provider'))).toBe(true);
    expect(validateSeedResponse('list', '422', { detail: [{ loc: ['query', 'limit'], msg: 'bad' }] }).length).toBeGreaterThan(0);
  });

  test('the older detail page lacks enum values the live API sends; only the newer sources add them', () => {
    // `exotel` comes from the newer list page, `dispatched` from UPSTREAM-NOTES.md.
    expect(validateAgainstSeed('detail', 'TelephonyProvider', 'exotel', { strictEnums: true })).not.toEqual([]);
    expect(validateAgainstSeed('detail', 'TelephonyProvider', 'exotel')).toEqual([]);
    expect(validateAgainstSeed('detail', 'BatchCallRecipientStatus', 'dispatched', { strictEnums: true })).not.toEqual([]);
    expect(validateAgainstSeed('detail', 'BatchCallRecipientStatus', 'dispatched')).toEqual([]);
    expect(validateAgainstSeed('detail', 'BatchCallRecipientStatus', 'ringing')).not.toEqual([]);
    // An integer dynamic variable matches both `number` and `integer`: the seed's oneOf is read as anyOf.
    expect(validateAgainstSeed('detail', 'ConversationInitiationClientDataInternal', { dynamic_variables: { n: 3, x: 1.5, s: 'a', b: true, z: null } })).toEqual([]);
    expect(validateAgainstSeed('detail', 'ConversationInitiationClientDataInternal', { dynamic_variables: { o: { nested: 1 } } })).not.toEqual([]);
  });
});

describe('simulator responses validate against the seed schemas', () => {
  test('every list page, at limit 100 and at limit 7', async () => {
    const errors: string[] = [];
    const byHundred = await walkList(100, errors);
    const bySeven = await walkList(7, errors);
    expect(errors).toEqual([]);

    const ids = sim.store.batchIds();
    expect(ids).toHaveLength(150);
    expect(byHundred.length).toBe(2);
    expect(bySeven.length).toBe(Math.ceil(150 / 7));
    expect(byHundred.flatMap((p) => p.batch_calls.map((b) => b.id))).toEqual(ids);
    expect(bySeven.flatMap((p) => p.batch_calls.map((b) => b.id))).toEqual(ids);
  });

  test('every list page filtered by agent', async () => {
    const errors: string[] = [];
    for (const agent of sim.store.agents()) {
      const { status, body } = await getJson(`/v1/convai/batch-calling/workspace?limit=100&agent_id=${encodeURIComponent(agent.id)}`);
      expect(status).toBe(200);
      errors.push(...validateSeedResponse('list', '200', body));
    }
    expect(errors).toEqual([]);
  });

  test('the detail of every batch, now and as batches progress', async () => {
    const ids = sim.store.batchIds();
    const seen = { status: new Set<string>(), recipientStatus: new Set<string>(), provider: new Set<string>(), whatsapp: 0 };
    for (const advance of [0, 3 * MINUTE, 6 * 60 * MINUTE]) {
      clock.advance(advance);
      const errors: string[] = [];
      const details = await fetchAllDetails(ids, errors);
      expect(errors).toEqual([]);
      for (const d of details) {
        seen.status.add(d.status);
        if (d.phone_provider) seen.provider.add(d.phone_provider);
        if (d.whatsapp_params) seen.whatsapp++;
        for (const r of d.recipients) seen.recipientStatus.add(r.status);
      }
    }
    clock.set(START);
    // The checks above covered every shape the simulator produces.
    expect([...seen.status].sort()).toEqual(['cancelled', 'completed', 'failed', 'in_progress', 'pending']);
    expect([...seen.provider].sort()).toEqual(['exotel', 'sip_trunk', 'twilio']);
    expect(seen.whatsapp).toBeGreaterThan(0);
    for (const s of ['pending', 'dispatched', 'initiated', 'in_progress', 'completed', 'failed', 'cancelled', 'voicemail']) {
      expect(seen.recipientStatus, s).toContain(s);
    }
  });

  test('a 50 000-recipient batch and a WhatsApp batch added at run time', async () => {
    const big = sim.store.addBatch({ recipients: 50_000, status: 'in_progress' });
    const whatsapp = sim.store.addBatch({ recipients: 3, whatsapp: true, status: 'pending' });
    try {
      const errors: string[] = [];
      const [bigDetail] = await fetchAllDetails([big, whatsapp], errors);
      expect(errors).toEqual([]);
      expect(bigDetail?.recipients).toHaveLength(50_000);
      await walkList(100, errors);
      expect(errors).toEqual([]);
    } finally {
      sim.store.removeBatch(big);
      sim.store.removeBatch(whatsapp);
    }
  });

  test('another seed validates as well', async () => {
    const other = await startSimulator({ port: 0, seed: 7, clock: new ManualClock(START) });
    try {
      const errors: string[] = [];
      for (const id of other.store.batchIds()) {
        const res = await fetch(`${other.url}/v1/convai/batch-calling/${id}`, { headers: { 'xi-api-key': 'any' } });
        errors.push(...validateDetailResponse(await res.json()));
      }
      expect(errors).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test("422 bodies validate against the list page's HTTPValidationError", async () => {
    const foreignToken = Buffer.from('v2|123|btcal_x', 'utf8').toString('base64url');
    const batchId = sim.store.batchIds()[3] ?? '';
    for (const query of ['limit=abc', 'limit=0', 'limit=-3', 'last_doc=not%20a%20token', `last_doc=${foreignToken}`, `last_doc=${batchId}`]) {
      const { status, body } = await getJson(`/v1/convai/batch-calling/workspace?${query}`);
      expect(status, query).toBe(422);
      expect(validateSeedResponse('list', '422', body), query).toEqual([]);
      expect((body as { detail: unknown[] }).detail.length, query).toBeGreaterThan(0);
    }
  });
});
