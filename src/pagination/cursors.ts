import { InputError } from '../input.js';

/**
 * Opaque cursors: base64url of a small JSON tuple with a kind tag. Decoding checks every part, so
 * a forged or truncated cursor is a clear BAD_USER_INPUT and never a strange upstream call.
 */

/** A position in the upstream's batch list: `skip` items after the page that `lastDoc` starts. */
export interface BatchCursor {
  /** The upstream `last_doc` the window starts from; null for the very first page. */
  lastDoc: string | null;
  /** Items to skip after `lastDoc` (0 to 100). */
  skip: number;
  /** The agent filter the cursor belongs to. */
  agentId: string | null;
}

/** A position within a batch's (optionally filtered) recipients. */
export interface RecipientCursor {
  offset: number;
  /** The status filter the offset counts in, as a canonical key. */
  filter: string;
}

/** Longest upstream `next_doc` the gateway accepts (decode.ts refuses longer ones). */
export const MAX_LAST_DOC_LENGTH = 1024;
/** A cursor of a maximal `last_doc` of JSON-escaped characters still fits (6 bytes each, base64 4/3). */
const MAX_CURSOR_LENGTH = 10_000;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeBatchCursor({ lastDoc, skip, agentId }: BatchCursor): string {
  return encode(['b', lastDoc, skip, agentId]);
}

export function decodeBatchCursor(cursor: string, argument = 'after'): BatchCursor {
  const parts = decode(cursor, argument);
  const [kind, lastDoc, skip, agentId] = parts;
  if (
    parts.length !== 4 || kind !== 'b' ||
    !(lastDoc === null || (typeof lastDoc === 'string' && lastDoc.length > 0 && lastDoc.length <= MAX_LAST_DOC_LENGTH)) ||
    !(typeof skip === 'number' && Number.isInteger(skip) && skip >= 0 && skip <= 100) ||
    !(agentId === null || (typeof agentId === 'string' && agentId.length <= 128))
  ) {
    throw invalid(argument);
  }
  return { lastDoc, skip, agentId };
}

export function encodeRecipientCursor({ offset, filter }: RecipientCursor): string {
  return encode(['r', offset, filter]);
}

export function decodeRecipientCursor(cursor: string, argument = 'after'): RecipientCursor {
  const parts = decode(cursor, argument);
  const [kind, offset, filter] = parts;
  if (
    parts.length !== 3 || kind !== 'r' ||
    !(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) ||
    !(typeof filter === 'string' && filter.length <= 256)
  ) {
    throw invalid(argument);
  }
  return { offset, filter };
}

function encode(parts: unknown[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

function decode(cursor: string, argument: string): unknown[] {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw invalid(argument);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid(argument);
  }
  if (!Array.isArray(parsed)) throw invalid(argument);
  return parsed;
}

function invalid(argument: string): InputError {
  return new InputError(`\`${argument}\` is not a valid cursor; use a cursor returned by this field`);
}
