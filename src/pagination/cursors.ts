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

/**
 * A position in the upstream's batch list while the gateway filters it: the same (page, skip) as
 * BatchCursor, bound to the filter and agent it was read with by their fingerprint.
 */
export interface FilteredBatchCursor {
  lastDoc: string | null;
  skip: number;
  /** `filterFingerprint(filter, agentId)` of the list the cursor belongs to. */
  fingerprint: string;
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
    parts.length !== 4 || kind !== 'b' || !isLastDoc(lastDoc) || !isSkip(skip) ||
    !(agentId === null || (typeof agentId === 'string' && agentId.length <= 128))
  ) {
    throw invalid(argument);
  }
  return { lastDoc, skip, agentId };
}

/** The cursor of a position in a filtered batch list. */
export function encodeFilteredBatchCursor({ lastDoc, skip, fingerprint }: FilteredBatchCursor): string {
  return encode(['f', lastDoc, skip, fingerprint]);
}

/** Decodes a filtered-list cursor; anything else (an unfiltered cursor too) is BAD_USER_INPUT naming `argument`. */
export function decodeFilteredBatchCursor(cursor: string, argument = 'after'): FilteredBatchCursor {
  const parts = decode(cursor, argument);
  const [kind, lastDoc, skip, fingerprint] = parts;
  if (
    parts.length !== 4 || kind !== 'f' || !isLastDoc(lastDoc) || !isSkip(skip) ||
    !(typeof fingerprint === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(fingerprint))
  ) {
    throw invalid(argument);
  }
  return { lastDoc, skip, fingerprint };
}

/**
 * Which list a well-formed batch cursor belongs to (`unfiltered` or `filtered`), or null when it is
 * not a batch cursor at all: lets a resolver say "this cursor is from a filtered list" rather than
 * just "not a valid cursor".
 */
export function batchCursorKind(cursor: string): 'unfiltered' | 'filtered' | null {
  let parts: unknown[];
  try {
    parts = decode(cursor, 'after');
  } catch {
    return null;
  }
  return parts[0] === 'b' ? 'unfiltered' : parts[0] === 'f' ? 'filtered' : null;
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

function isLastDoc(value: unknown): value is string | null {
  return value === null || (typeof value === 'string' && value.length > 0 && value.length <= MAX_LAST_DOC_LENGTH);
}

/** Items to skip within one upstream page (at most its 100 items). */
function isSkip(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100;
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
