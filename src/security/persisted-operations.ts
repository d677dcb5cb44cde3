import { readFileSync } from 'node:fs';

/** Reads the allow-list file: a JSON object of operation id → GraphQL document. Throws a plain message. */
export function loadPersistedOperations(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`GATEWAY_PERSISTED_OPERATIONS_FILE could not be read as JSON (${(error as Error).name})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('GATEWAY_PERSISTED_OPERATIONS_FILE must hold a JSON object of operation id → document');
  }
  const store = new Map<string, string>();
  for (const [id, document] of Object.entries(parsed)) {
    if (typeof document !== 'string') throw new Error(`GATEWAY_PERSISTED_OPERATIONS_FILE: operation "${id.slice(0, 80)}" is not a string`);
    store.set(id, document);
  }
  return store;
}
