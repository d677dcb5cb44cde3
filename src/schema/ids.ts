import { InputError, isBatchId } from '../input.js';
import { tryDecodeGlobalId } from './global-id.js';

/** Node types other than BatchCall: their global IDs are a clear mistake when a batch is wanted. */
const OTHER_NODE_TYPES = new Set(['Recipient', 'Agent']);

/**
 * `batchCall(id)` takes a BatchCall global ID or a raw upstream id. A global ID of another type is
 * an error; text that is neither is an error too, and never reaches the upstream.
 */
export function parseBatchCallId(id: string): string {
  const global = tryDecodeGlobalId(id);
  if (global?.typename === 'BatchCall') {
    if (!isBatchId(global.id)) throw new InputError('`id` is a BatchCall global ID with an invalid batch id');
    return global.id;
  }
  if (global !== null && OTHER_NODE_TYPES.has(global.typename)) {
    const article = /^[AEIOU]/.test(global.typename) ? 'an' : 'a';
    throw new InputError(`\`id\` is the global ID of ${article} ${global.typename}, not of a BatchCall`);
  }
  if (isBatchId(id)) return id;
  throw new InputError('`id` must be a BatchCall global ID or an upstream batch id (letters, digits, "_" or "-", at most 128)');
}
