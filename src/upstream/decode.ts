import { MAX_LAST_DOC_LENGTH } from '../pagination/cursors.js';
import type { WireBatchCall, WireRecipient, WireWorkspaceBatchCallsResponse } from './types.js';

/**
 * Checks the fields the gateway cannot do without. Optional fields are left as sent (the mapper
 * reads them defensively), unknown fields are kept, and unknown enum values pass: the upstream
 * adds fields and values over time and that must never break a query.
 */
export class DecodeError extends Error {
  readonly field: string;

  constructor(field: string, expected: string) {
    super(`upstream field ${field} is missing or not ${expected}`);
    this.name = 'DecodeError';
    this.field = field;
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(object: Json, key: string, at: string): void {
  if (typeof object[key] !== 'string') throw new DecodeError(`${at}.${key}`, 'a string');
}

function requireNumber(object: Json, key: string, at: string): void {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new DecodeError(`${at}.${key}`, 'a number');
}

/** Counters the list seed documents with a default of 0 may be absent. */
function defaultCount(object: Json, key: string, at: string): void {
  if (object[key] === undefined || object[key] === null) object[key] = 0;
  else requireNumber(object, key, at);
}

const REQUIRED_STRINGS = ['id', 'name', 'agent_id', 'agent_name', 'status'] as const;
const REQUIRED_TIMES = ['created_at_unix', 'scheduled_time_unix', 'last_updated_at_unix'] as const;

function checkBatch(value: unknown, at: string): asserts value is WireBatchCall {
  if (!isObject(value)) throw new DecodeError(at, 'an object');
  for (const key of REQUIRED_STRINGS) requireString(value, key, at);
  for (const key of REQUIRED_TIMES) requireNumber(value, key, at);
  defaultCount(value, 'total_calls_dispatched', at);
  defaultCount(value, 'total_calls_scheduled', at);
  defaultCount(value, 'retry_count', at);
}

function checkRecipient(value: unknown, at: string): asserts value is WireRecipient {
  if (!isObject(value)) throw new DecodeError(at, 'an object');
  requireString(value, 'id', at);
  requireString(value, 'status', at);
  requireNumber(value, 'created_at_unix', at);
  if (typeof value['updated_at_unix'] !== 'number') value['updated_at_unix'] = value['created_at_unix'];
}

export function decodeBatchList(value: unknown): WireWorkspaceBatchCallsResponse {
  if (!isObject(value)) throw new DecodeError('(body)', 'an object');
  const items = value['batch_calls'];
  if (!Array.isArray(items)) throw new DecodeError('batch_calls', 'an array');
  items.forEach((item, index) => checkBatch(item, `batch_calls[${index}]`));
  const nextDoc = value['next_doc'];
  if (nextDoc !== undefined && nextDoc !== null && (typeof nextDoc !== 'string' || nextDoc.length > MAX_LAST_DOC_LENGTH)) {
    throw new DecodeError('next_doc', `a string of at most ${MAX_LAST_DOC_LENGTH} characters`);
  }
  // An empty token cannot be sent back as last_doc: it means "no next page".
  if (nextDoc === '') value['next_doc'] = null;
  if (value['has_more'] !== undefined && typeof value['has_more'] !== 'boolean') {
    throw new DecodeError('has_more', 'a boolean');
  }
  return value as unknown as WireWorkspaceBatchCallsResponse;
}

/**
 * A detail's recipients, read and checked on first use and kept: most queries of a batch never
 * select its recipients, and they are most of the body. Any failure (not JSON, not an array, a
 * recipient without its required fields) is mapped once by `fail` and thrown to every reader.
 */
export class LazyRecipients {
  #load: (() => unknown) | undefined;
  #fail: ((error: SyntaxError | DecodeError) => Error) | undefined;
  #value: readonly WireRecipient[] | undefined;
  #error: Error | undefined;

  constructor(load: () => unknown, fail: (error: SyntaxError | DecodeError) => Error) {
    this.#load = load;
    this.#fail = fail;
  }

  get(): readonly WireRecipient[] {
    if (this.#value !== undefined) return this.#value;
    if (this.#error !== undefined) throw this.#error;
    const load = this.#load;
    const fail = this.#fail;
    if (load === undefined || fail === undefined) throw new Error('recipients neither loaded nor failed');
    // Whatever happens, the body's bytes and the callbacks are released.
    this.#load = undefined;
    this.#fail = undefined;
    try {
      this.#value = checkRecipients(load());
      return this.#value;
    } catch (error) {
      if (!(error instanceof SyntaxError) && !(error instanceof DecodeError)) throw error;
      this.#error = fail(error);
      throw this.#error;
    }
  }
}

function checkRecipients(recipients: unknown): WireRecipient[] {
  if (!Array.isArray(recipients)) throw new DecodeError('recipients', 'an array');
  for (let index = 0; index < recipients.length; index += 1) {
    checkRecipient(recipients[index], `recipients[${index}]`);
  }
  return recipients as WireRecipient[];
}

/** A detail response: the batch's fields, checked now; its recipients, checked on first use. */
export interface DecodedBatchDetail {
  batch: WireBatchCall;
  recipients: LazyRecipients;
}

/**
 * A detail response: `body` is the parsed body, or (with `rest`) the body without its recipients,
 * which `rest` parses when they are first read. `onRead` is told when that happens.
 */
export function decodeBatchDetail(
  body: unknown,
  fail: (error: SyntaxError | DecodeError) => Error,
  rest?: () => unknown,
  onRead?: () => void,
): DecodedBatchDetail {
  checkBatch(body, '(body)');
  const read = rest ?? ((): unknown => (body as unknown as Json)['recipients']);
  const load = (): unknown => {
    onRead?.();
    return read();
  };
  return { batch: body, recipients: new LazyRecipients(load, fail) };
}
