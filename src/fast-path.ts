import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  GraphQLError,
  Kind,
  getLocation,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type SourceLocation,
  type ValidationRule,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { MaskError } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Config } from './config.js';
import { createContext } from './context.js';
import type { Logger } from './logger.js';
import type { UnknownEnumReporter } from './model/enums.js';
import { UpstreamBudget } from './security/budget.js';
import { validationRules, type Gatekeeper } from './security/plugins.js';
import { estimateUpstreamCalls } from './security/upstream-cost.js';
import type { Services } from './services.js';
import type { UpstreamClient } from './upstream/client.js';

/**
 * The lean path for the common request: a JSON POST of a query the gateway has seen before. It
 * does what yoga's pipeline does for such a request (authentication and rate limit by the same
 * gatekeeper, the same parse limits and validation rules, the same fan-out limit, the same
 * context, error masking and response shape) but executes a query compiled once with graphql-jit
 * and writes the response straight to node:http, skipping the Fetch-API layer.
 *
 * Whatever it does not handle identically goes to yoga untouched: other methods, content types
 * or Accept values, CORS requests, batches, persisted-operation ids, documents that fail to parse
 * or validate, operations over the fan-out limit, subscriptions and mutations. A declined request
 * is handed over before anything is executed, with its body when it was read. Requests that
 * accept a stream (SSE, multipart) are handed over unread, and a subscription found in a body
 * already read goes to yoga's own node:http handler (streamed, cancelled on disconnect), never
 * through the buffering replay.
 */

export interface FastPathDependencies {
  config: Config;
  schema: GraphQLSchema;
  upstream: UpstreamClient;
  logger: Logger;
  gatekeeper: Gatekeeper;
  reportUnknownEnum: UnknownEnumReporter;
  mask: MaskError;
  /** Called for each request the fast path answers itself. */
  onServed?: () => void;
  services: Services;
}

/** Hands a request to yoga; `body` is the raw body when the fast path had already read it. */
export type Fallback = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => void;

interface Prepared {
  document: DocumentNode;
  /** Keyed by operation name ('' for an anonymous or single operation). */
  compiled: Map<string, CompiledQuery | null>;
}

const ACCEPTED_MEDIA = new Map([
  ['application/json', 'application/json; charset=utf-8'],
  ['application/graphql-response+json', 'application/graphql-response+json; charset=utf-8'],
]);

export function createFastPath(deps: FastPathDependencies): (req: IncomingMessage, res: ServerResponse, fallback: Fallback) => void {
  const { config, schema, upstream, logger, gatekeeper, reportUnknownEnum, mask, services } = deps;
  const onServed = deps.onServed ?? (() => undefined);
  const security = config.security;
  const rules: ValidationRule[] = validationRules(security);
  const isDev = config.mode === 'development';
  /** Documents that parsed and validated cleanly; `null` = not for this path (yoga reports why). */
  const prepared = new LRUCache<string, Prepared | { rejected: true }>({ max: 1_000 });
  const enabled = security.persistedOperations === undefined;
  // With CORS configured, a request carrying an Origin needs yoga's CORS headers.
  const corsConfigured = security.corsOrigins.length > 0;

  const prepare = (query: string): Prepared | undefined => {
    const known = prepared.get(query);
    if (known !== undefined) return 'rejected' in known ? undefined : known;
    let entry: Prepared | { rejected: true } = { rejected: true };
    try {
      const document = parse(query, { maxTokens: security.limits.tokens });
      if (validate(schema, document, rules).length === 0) entry = { document, compiled: new Map() };
    } catch {
      // A syntax error or the token limit: yoga produces the error response.
    }
    prepared.set(query, entry);
    return 'rejected' in entry ? undefined : entry;
  };

  const compiledFor = (entry: Prepared, operationName: string | undefined): CompiledQuery | undefined => {
    const key = operationName ?? '';
    if (!entry.compiled.has(key)) {
      const operations = entry.document.definitions.filter((d) => d.kind === 'OperationDefinition');
      const operation = operationName === undefined
        ? (operations.length === 1 ? operations[0] : undefined)
        : operations.find((o) => o.name?.value === operationName);
      let compiled: CompiledQuery | null = null;
      if (operation?.operation === 'query') {
        const result = compileQuery(schema, entry.document, operationName);
        if (isCompiledQuery(result)) compiled = result;
      }
      entry.compiled.set(key, compiled);
    }
    return entry.compiled.get(key) ?? undefined;
  };

  /** Variables that fail to coerce are a request error: yoga answers those (nothing has run yet). */
  const variablesValid = (document: DocumentNode, params: Params): boolean => {
    const operation = document.definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (params.operationName === undefined || d.name?.value === params.operationName),
    );
    if (operation === undefined) return false;
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], params.variables ?? {});
    return coerced.errors === undefined;
  };

  return (req, res, fallback) => {
    const contentType = req.headers['content-type'] ?? '';
    const accepted = responseType(req.headers['accept']);
    if (!enabled || req.method !== 'POST' || req.url !== '/graphql' || accepted === undefined ||
        !contentType.startsWith('application/json') || (corsConfigured && req.headers['origin'] !== undefined)) {
      fallback(req, res);
      return;
    }
    void readBody(req, security.maxBodyBytes).then(async (body) => {
      if (body === undefined) return; // the connection went away
      const params = parseParams(body);
      const entry = params === undefined ? undefined : prepare(params.query);
      if (params !== undefined && entry !== undefined && isSubscription(entry.document, params.operationName)) {
        // Yoga streams it (SSE when the client accepts anything); a replay would buffer the stream whole.
        fallback(withConsumedBody(req, body), res);
        return;
      }
      const compiled = entry === undefined || params === undefined ? undefined : compiledFor(entry, params.operationName);
      if (params === undefined || entry === undefined || compiled === undefined || !variablesValid(entry.document, params) ||
          estimateUpstreamCalls(entry.document, params.operationName, params.variables, services) > security.limits.upstreamCalls) {
        fallback(req, res, body);
        return;
      }
      onServed();
      const admission = await gatekeeper.admit(header(req.headers['authorization']), req.socket.remoteAddress ?? 'unknown');
      if (!admission.ok) {
        const { status, headers, body: refusal } = admission.refusal;
        res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(refusal) });
        res.end(refusal);
        return;
      }
      const gone = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) gone.abort();
      });
      const context = createContext({
        upstream,
        logger,
        reportUnknownEnum,
        call: { signal: gone.signal, deadline: Date.now() + config.operationTimeoutMs },
        budget: new UpstreamBudget(security.limits.upstreamCalls),
        identity: admission.identity,
        services,
      });
      const result = await compiled.query(undefined, context, params.variables ?? {});
      const payload = result.errors === undefined || result.errors.length === 0
        ? JSON.stringify({ data: result.data })
        : JSON.stringify({
          errors: result.errors.map((error) => serializeError(mask(error, 'Unexpected error.', isDev), entry.document, params.operationName)),
          data: result.data,
        });
      res.writeHead(200, { 'content-type': accepted, 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    }).catch((error: unknown) => {
      logger.error({ error: { name: (error as Error).name, message: (error as Error).message } }, 'fast path failed');
      if (!res.headersSent) {
        const payload = JSON.stringify({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
      } else {
        res.destroy();
      }
    });
  };
}

/** Whether the operation the request runs is a subscription. */
function isSubscription(document: DocumentNode, operationName: string | undefined): boolean {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName === undefined
    ? (operations.length === 1 ? operations[0] : undefined)
    : operations.find((o) => o.name?.value === operationName);
  return operation?.operation === 'subscription';
}

/**
 * The request, its body already read, for yoga's own node:http handler (which streams the
 * response and cancels on disconnect): the Fetch adapter under yoga (@whatwg-node/server) takes a
 * body that a framework consumed from `req.body`, as it does behind body-parsing middleware.
 */
function withConsumedBody(req: IncomingMessage, body: Buffer): IncomingMessage {
  Object.defineProperty(req, 'body', { value: body, configurable: true, enumerable: false, writable: true });
  return req;
}

/** A client that can read a stream (SSE, multipart): its subscriptions must reach yoga unbuffered. */
const STREAMING_MEDIA = /text\/event-stream|multipart\/mixed/i;

/** The response media type yoga would choose, or undefined when the Accept header is one to leave to yoga. */
function responseType(accept: string | undefined): string | undefined {
  if (accept === undefined || accept === '' || accept === '*/*') return ACCEPTED_MEDIA.get('application/json');
  // Such a request may be a subscription: handed over before its body is read, as the replay of a
  // read body buffers yoga's whole response, which for a stream only ends with the subscription.
  if (STREAMING_MEDIA.test(accept)) return undefined;
  const first = accept.split(',')[0]?.split(';')[0]?.trim();
  return first === undefined ? undefined : ACCEPTED_MEDIA.get(first);
}

interface Params {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

/** A single GraphQL-over-HTTP request body; anything else (batches, ids, extensions) is yoga's. */
function parseParams(body: Buffer): Params | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { query, operationName, variables, extensions, ...rest } = value as Record<string, unknown>;
  if (typeof query !== 'string' || extensions !== undefined || Object.keys(rest).length > 0) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  return {
    query,
    operationName: typeof operationName === 'string' ? operationName : undefined,
    variables: variables === null ? undefined : (variables as Record<string, unknown> | undefined),
  };
}

/** The body, whose length server.ts has already checked against the limit. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('aborted', () => resolve(undefined));
    req.once('error', reject);
  });
}

/**
 * As yoga serialises errors: message, locations, path and extensions without its internals.
 * graphql-jit leaves resolver errors without locations; they are found again from the path.
 */
function serializeError(error: Error, document: DocumentNode, operationName: string | undefined): unknown {
  if (!(error instanceof GraphQLError)) return { message: error.message };
  const json = error.toJSON();
  const locations = json.locations ?? locate(document, operationName, json.path);
  let extensions = json.extensions;
  if (extensions !== undefined) {
    const { http: _http, unexpected: _unexpected, ...rest } = extensions;
    extensions = Object.keys(rest).length > 0 ? rest : undefined;
  }
  return { message: json.message, locations, path: json.path, extensions };
}

/** The location of the field a response path points at (the first match, as graphql-js reports). */
function locate(
  document: DocumentNode,
  operationName: string | undefined,
  path: ReadonlyArray<string | number> | undefined,
): SourceLocation[] | undefined {
  if (path === undefined || document.loc === undefined) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  let set: SelectionSetNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION && set === undefined &&
      (operationName === undefined || definition.name?.value === operationName)) set = definition.selectionSet;
  }
  let field: FieldNode | undefined;
  for (const key of path) {
    if (typeof key === 'number') continue;
    field = set === undefined ? undefined : findField(set, key, fragments);
    if (field === undefined) return undefined;
    set = field.selectionSet;
  }
  return field?.loc === undefined ? undefined : [getLocation(document.loc.source, field.loc.start)];
}

function findField(set: SelectionSetNode, responseKey: string, fragments: ReadonlyMap<string, FragmentDefinitionNode>): FieldNode | undefined {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if ((selection.alias ?? selection.name).value === responseKey) return selection;
      continue;
    }
    const inner = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : fragments.get(selection.name.value)?.selectionSet;
    const found = inner === undefined ? undefined : findField(inner, responseKey, fragments);
    if (found !== undefined) return found;
  }
  return undefined;
}

function header(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
