/**
 * `next_doc` tokens: the sort key of the last item served, base64url-encoded. Resuming by key
 * (not by position) keeps paging stable while batches are added or removed.
 */
export interface CursorKey {
  createdAtUnix: number;
  id: string;
}

const PREFIX = 'v1|';
const MAX_TOKEN_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(`${PREFIX}${key.createdAtUnix}|${key.id}`, 'utf8').toString('base64url');
}

/** The key inside a token, or null when the token is not one this simulator issued. */
export function decodeCursor(token: string): CursorKey | null {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !BASE64URL.test(token)) return null;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return null;
  const body = text.slice(PREFIX.length);
  const bar = body.indexOf('|');
  const created = body.slice(0, bar);
  const id = body.slice(bar + 1);
  if (bar < 1 || id.length === 0 || !/^\d{1,12}$/.test(created)) return null;
  const key = { createdAtUnix: Number(created), id };
  // Only canonical tokens: a hand-edited one is as foreign as a random string.
  return encodeCursor(key) === token ? key : null;
}

/** List order: newest first, ties by id. Negative when `a` comes first. */
export function compareKeys(a: CursorKey, b: CursorKey): number {
  if (a.createdAtUnix !== b.createdAtUnix) return b.createdAtUnix - a.createdAtUnix;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
