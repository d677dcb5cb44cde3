import { InputError, isBatchId } from '../input.js';

/**
 * Relay global IDs: base64url of `Typename:id`. Decoding is strict (known shape, bounded length),
 * and a malformed ID is BAD_USER_INPUT rather than an internal error.
 */

const MAX_GLOBAL_ID_LENGTH = 512;
const TYPENAME = /^[A-Z][A-Za-z]{0,63}$/;

export function encodeGlobalId(typename: string, id: bigint | number | string): string {
  return Buffer.from(`${typename}:${String(id)}`, 'utf8').toString('base64url');
}

/** Decodes without throwing: null when the text is not a global ID at all. */
export function tryDecodeGlobalId(globalId: string): { typename: string; id: string } | null {
  if (globalId.length === 0 || globalId.length > MAX_GLOBAL_ID_LENGTH || !/^[A-Za-z0-9_-]+={0,2}$/.test(globalId)) return null;
  const text = Buffer.from(globalId, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  if (colon === -1) return null;
  const typename = text.slice(0, colon);
  const id = text.slice(colon + 1);
  if (!TYPENAME.test(typename) || id.length === 0) return null;
  return { typename, id };
}

/** The types `node` and `nodes` resolve; any other name is refused the same way, known or not. */
const NODE_TYPES = new Set(['BatchCall', 'Recipient', 'Agent']);

export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = tryDecodeGlobalId(globalId);
  if (decoded === null || !NODE_TYPES.has(decoded.typename)) throw new InputError('`id` is not a valid global ID');
  return decoded;
}

/** The ID of a recipient names its batch too: the upstream can only fetch recipients through it. */
export function recipientKey(batchId: string, recipientId: string): string {
  return `${batchId}:${recipientId}`;
}

export function parseRecipientKey(key: string): { batchId: string; recipientId: string } {
  const colon = key.indexOf(':');
  const batchId = key.slice(0, colon);
  // Only the batch id reaches the upstream; the recipient id is matched within the batch.
  const recipientId = key.slice(colon + 1);
  if (colon === -1 || !isBatchId(batchId) || recipientId.length === 0 || recipientId.length > 256) {
    throw new InputError('`id` is not a valid Recipient ID');
  }
  return { batchId, recipientId };
}
