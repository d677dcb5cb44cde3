/**
 * Fault injection: rules matched against each upstream request before it is served. Tests and
 * frontend developers use them to make the simulator fail the way the real API does.
 */

export type FaultKind =
  /** Answer with `status` (and a body in the upstream's error shape unless `body` is given). */
  | 'status'
  /** Wait `delayMs`, then serve normally (or apply the next matching fault). */
  | 'delay'
  /** Destroy the connection before any response byte. */
  | 'reset'
  /** 200 with a body that is not JSON. */
  | 'malformed_json'
  /** 200 with the first half of the real body, correctly framed: valid HTTP, invalid JSON. */
  | 'truncated_json'
  /** Accept the request and never answer. */
  | 'hang';

export const FAULT_KINDS: readonly FaultKind[] = ['status', 'delay', 'reset', 'malformed_json', 'truncated_json', 'hang'];

export type FaultRoute = 'list' | 'detail' | 'any';

export interface FaultSpec {
  kind: FaultKind;
  /** Which endpoint it applies to; default 'any'. */
  route?: FaultRoute;
  /** Detail requests only: restrict to one batch id. */
  batchId?: string;
  /** For 'status'. */
  status?: number;
  /** For 'status': the JSON body to send instead of the default error body. */
  body?: unknown;
  /** For 'status': a Retry-After header value. */
  retryAfter?: string;
  /** For 'delay'. */
  delayMs?: number;
  /** How many matching requests it affects before it disappears; unlimited when absent. */
  times?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  /** Requests it has affected so far. */
  hits: number;
}

export interface FaultTarget {
  route: 'list' | 'detail';
  batchId?: string;
}

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

/** Checks a spec that arrived as JSON (over the control endpoint) and returns it typed. */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new FaultSpecError('a fault is a JSON object');
  const raw = input as Record<string, unknown>;
  const kind = raw['kind'];
  if (typeof kind !== 'string' || !FAULT_KINDS.includes(kind as FaultKind)) {
    throw new FaultSpecError(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const spec: FaultSpec = { kind: kind as FaultKind };
  const route = raw['route'];
  if (route !== undefined) {
    if (route !== 'list' && route !== 'detail' && route !== 'any') throw new FaultSpecError('route must be list, detail or any');
    spec.route = route;
  }
  const batchId = raw['batchId'];
  if (batchId !== undefined) {
    if (typeof batchId !== 'string' || batchId === '') throw new FaultSpecError('batchId must be a non-empty string');
    spec.batchId = batchId;
  }
  const status = raw['status'];
  if (kind === 'status') {
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
      throw new FaultSpecError('status must be an HTTP status code');
    }
    spec.status = status;
  }
  if (raw['body'] !== undefined) spec.body = raw['body'];
  const retryAfter = raw['retryAfter'];
  if (retryAfter !== undefined) {
    if (typeof retryAfter !== 'string' || !/^[\w ,:-]{1,64}$/.test(retryAfter)) throw new FaultSpecError('retryAfter must be a short header value');
    spec.retryAfter = retryAfter;
  }
  const delayMs = raw['delayMs'];
  if (kind === 'delay') {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > 600_000) {
      throw new FaultSpecError('delayMs must be a number of milliseconds up to 600000');
    }
    spec.delayMs = delayMs;
  }
  const times = raw['times'];
  if (times !== undefined) {
    if (typeof times !== 'number' || !Number.isInteger(times) || times < 1) throw new FaultSpecError('times must be a positive integer');
    spec.times = times;
  }
  return spec;
}

export class FaultController {
  readonly #faults: Fault[] = [];
  #nextId = 1;

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: `fault_${this.#nextId++}`, hits: 0 };
    this.#faults.push(fault);
    return fault;
  }

  remove(id: string): boolean {
    const index = this.#faults.findIndex((f) => f.id === id);
    if (index < 0) return false;
    this.#faults.splice(index, 1);
    return true;
  }

  clear(): void {
    this.#faults.length = 0;
  }

  list(): Fault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /**
   * The faults to apply to one request, in order: any number of delays followed by at most one
   * terminal fault. Each returned fault counts one hit; a fault whose `times` is used up goes.
   */
  take(target: FaultTarget): Fault[] {
    const taken: Fault[] = [];
    for (const fault of [...this.#faults]) {
      if (!matches(fault, target)) continue;
      fault.hits++;
      taken.push({ ...fault });
      if (fault.times !== undefined && fault.hits >= fault.times) this.remove(fault.id);
      if (fault.kind !== 'delay') break;
    }
    return taken;
  }
}

function matches(fault: Fault, target: FaultTarget): boolean {
  const route = fault.route ?? 'any';
  if (route !== 'any' && route !== target.route) return false;
  if (fault.batchId !== undefined && fault.batchId !== target.batchId) return false;
  return true;
}
