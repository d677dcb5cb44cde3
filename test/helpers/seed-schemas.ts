/**
 * JSON-Schema validators built from the OpenAPI documents embedded in the two seed reference pages,
 * so tests can check that the simulator (and anything else) speaks the upstream's wire format.
 *
 * The two documents differ: the detail page (`GET /v1/convai/batch-calling/{batch_id}`) is older,
 * the list page (`GET /v1/convai/batch-calling/workspace`) newer. Both are normalised here for
 * what ajv does not read the way the upstream means it; every rule is listed in `normaliseSchema`
 * and `openEnums`, and nothing else is relaxed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';

export type SeedPage = 'detail' | 'list';

export const SEED_PATHS: Readonly<Record<SeedPage, string>> = {
  detail: '/v1/convai/batch-calling/{batch_id}',
  list: '/v1/convai/batch-calling/workspace',
};

/**
 * Values the live API sends that the older detail page's enums lack. From UPSTREAM-NOTES.md:
 * "recipient status: ... (`dispatched` is newer than the seeds)". The detail page's enums are also
 * extended by the newer list page's enum of the same name (`TelephonyProvider` gains `exotel`).
 */
const NEWER_ENUM_VALUES: Readonly<Record<string, readonly string[]>> = {
  BatchCallRecipientStatus: ['dispatched'],
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface SeedDocument {
  page: SeedPage;
  file: string;
  /** The OpenAPI document as written in the page. */
  raw: JsonObject;
}

export interface SeedValidatorOptions {
  /**
   * Validate against the pages' enums exactly as written (no values from the newer page or the
   * upstream notes). Default false: enums are open upstream, see NEWER_ENUM_VALUES.
   */
  strictEnums?: boolean;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the seed pages live: `SEEDS_DIR`, a copy inside the repo, or the shared folder beside it. */
export function seedsDir(): string {
  const candidates = [process.env['SEEDS_DIR'], join(REPO_ROOT, 'seeds'), join(REPO_ROOT, 'docs', 'seeds'), join(REPO_ROOT, '..', 'shared', 'seeds')];
  for (const dir of candidates) {
    if (dir !== undefined && dir !== '' && existsSync(dir)) return dir;
  }
  throw new Error(`seed pages not found; set SEEDS_DIR (looked in ${candidates.filter(Boolean).join(', ')})`);
}

let documents: Record<SeedPage, SeedDocument> | undefined;

/** Both seed documents, identified by the path each one documents (not by file name). */
export function loadSeedDocuments(): Record<SeedPage, SeedDocument> {
  if (documents !== undefined) return documents;
  const dir = seedsDir();
  const found: Partial<Record<SeedPage, SeedDocument>> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md')).sort()) {
    const raw = extractOpenApi(readFileSync(join(dir, file), 'utf8'), file);
    const paths = asObject(raw['paths'], `${file}: paths`);
    for (const page of ['detail', 'list'] as const) {
      if (paths[SEED_PATHS[page]] === undefined) continue;
      if (found[page] !== undefined) throw new Error(`two seed pages document ${SEED_PATHS[page]}`);
      found[page] = { page, file, raw };
    }
  }
  if (found.detail === undefined || found.list === undefined) throw new Error(`seed pages for both endpoints not found in ${dir}`);
  documents = { detail: found.detail, list: found.list };
  return documents;
}

/** The first fenced YAML or JSON block that is an OpenAPI document. */
function extractOpenApi(markdown: string, file: string): JsonObject {
  const fence = /^```(?:yaml|yml|json)[^\n]*\n([\s\S]*?)^```/gm;
  for (const match of markdown.matchAll(fence)) {
    const parsed = parseYaml(match[1] ?? '') as unknown;
    if (isObject(parsed) && typeof parsed['openapi'] === 'string') return parsed;
  }
  throw new Error(`${file}: no OpenAPI block`);
}

/** The component a path's GET answers with for `status` (e.g. `BatchCallDetailedResponse`). */
export function seedResponseSchemaName(page: SeedPage, status = '200'): string | undefined {
  const doc = loadSeedDocuments()[page].raw;
  const op = asObject(asObject(asObject(doc['paths'], 'paths')[SEED_PATHS[page]], 'path')['get'], 'get');
  const response = asObject(op['responses'], 'responses')[status];
  if (!isObject(response) || !isObject(response['content'])) return undefined;
  const media = response['content']['application/json'];
  if (!isObject(media) || !isObject(media['schema'])) return undefined;
  const ref = media['schema']['$ref'];
  if (typeof ref !== 'string') return undefined;
  return stripPrefix(decodeURIComponent(ref.replace(/^#\/components\/schemas\//, '')));
}

/** Component names without the list page's `type_:` prefix. */
export function seedSchemaNames(page: SeedPage): string[] {
  return Object.keys(componentsOf(loadSeedDocuments()[page].raw)).map(stripPrefix);
}

/** Errors (empty when valid) of `value` against component `schemaName` of a seed page. */
export function validateAgainstSeed(page: SeedPage, schemaName: string, value: unknown, options: SeedValidatorOptions = {}): string[] {
  const validate = validatorFor(page, schemaName, options);
  return validate(value) ? [] : formatErrors(page, schemaName, validate.errors ?? []);
}

/** Errors of `value` against the schema `page`'s path answers with for `status`. */
export function validateSeedResponse(page: SeedPage, status: string, value: unknown, options: SeedValidatorOptions = {}): string[] {
  const name = seedResponseSchemaName(page, status);
  if (name === undefined) throw new Error(`${page} page documents no JSON schema for ${status}`);
  return validateAgainstSeed(page, name, value, options);
}

/**
 * A detail response carries the union of both pages' fields: it must satisfy the detail page's
 * 200 schema and, without `recipients`, the newer list page's `BatchCallResponse`.
 */
export function validateDetailResponse(value: unknown, options: SeedValidatorOptions = {}): string[] {
  const errors = validateSeedResponse('detail', '200', value, options);
  if (!isObject(value)) return errors;
  const { recipients: _recipients, ...rest } = value;
  return [...errors, ...validateAgainstSeed('list', 'BatchCallResponse', rest, options)];
}

// --- ajv -----------------------------------------------------------------------------------------

const validators = new Map<string, ValidateFunction>();
const instances = new Map<string, { ajv: Ajv2020; id: string; names: Set<string> }>();

function validatorFor(page: SeedPage, schemaName: string, options: SeedValidatorOptions): ValidateFunction {
  const strictEnums = options.strictEnums === true;
  const cacheKey = `${page}|${strictEnums}|${schemaName}`;
  const cached = validators.get(cacheKey);
  if (cached !== undefined) return cached;
  const instance = ajvFor(page, strictEnums);
  const name = [schemaName, `type_:${schemaName}`].find((n) => instance.names.has(n));
  if (name === undefined) throw new Error(`${page} page has no schema ${schemaName}`);
  const validate = instance.ajv.compile({ $ref: `${instance.id}#/components/schemas/${encodeURIComponent(name)}` });
  validators.set(cacheKey, validate);
  return validate;
}

function ajvFor(page: SeedPage, strictEnums: boolean): { ajv: Ajv2020; id: string; names: Set<string> } {
  const key = `${page}|${strictEnums}`;
  const existing = instances.get(key);
  if (existing !== undefined) return existing;
  const docs = loadSeedDocuments();
  const schemas = normaliseComponents(page, docs);
  if (!strictEnums && page === 'detail') openEnums(schemas, normaliseComponents('list', docs));
  // strict: false because the registered document carries OpenAPI's own keys (`components`).
  const ajv = new Ajv2020({ strict: false, allErrors: true, allowUnionTypes: true, logger: false });
  for (const format of ['double', 'float', 'int32', 'int64']) ajv.addFormat(format, true);
  const id = `https://seeds.test/${page}${strictEnums ? '-strict' : ''}.json`;
  ajv.addSchema({ $id: id, components: { schemas } });
  const instance = { ajv, id, names: new Set(Object.keys(schemas)) };
  instances.set(key, instance);
  return instance;
}

function normaliseComponents(page: SeedPage, docs: Record<SeedPage, SeedDocument>): JsonObject {
  const schemas: JsonObject = {};
  for (const [name, schema] of Object.entries(componentsOf(docs[page].raw))) {
    // The list page is rendered by a generator that writes Optional[T] as a non-required T.
    schemas[name] = normaliseSchema(schema, { optionalIsNullable: page === 'list' });
  }
  return schemas;
}

export interface NormaliseOptions {
  optionalIsNullable: boolean;
}

/**
 * Rewrites an OpenAPI 3.x schema into plain JSON Schema 2020-12:
 * - `enum: [{value: x}, ...]` (the detail page's form) becomes `enum: [x, ...]`;
 * - `nullable: true` (OpenAPI 3.0) becomes a union with `null`;
 * - `oneOf` becomes `anyOf`: the upstream's unions are pydantic unions, not exclusive ones (an
 *   integer dynamic variable matches both `number` and `integer` of the seed's oneOf);
 * - list page only: a property not in `required` may also be `null`. The generator that rendered
 *   that page drops nullability (the older detail page writes the same fields as `[string, 'null']`)
 *   and UPSTREAM-NOTES.md says such keys arrive present and `null`.
 */
export function normaliseSchema(input: Json, options: NormaliseOptions): Json {
  if (!isObject(input)) return input;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(input)) {
    switch (key) {
      case 'enum':
        out['enum'] = Array.isArray(value) ? value.map((v) => (isObject(v) && 'value' in v ? (v['value'] ?? null) : v)) : value;
        break;
      case 'nullable':
        break;
      case 'oneOf':
      case 'anyOf':
      case 'allOf':
      case 'prefixItems': {
        const target = key === 'oneOf' ? 'anyOf' : key;
        const list = Array.isArray(value) ? value.map((v) => normaliseSchema(v, options)) : value;
        const prior = out[target];
        // A schema with both oneOf and anyOf keeps both constraints.
        if (Array.isArray(prior) && Array.isArray(list)) out['allOf'] = [...asArray(out['allOf']), { anyOf: prior }, { anyOf: list }];
        else out[target] = list;
        break;
      }
      case 'items':
      case 'additionalProperties':
      case 'not':
      case 'propertyNames':
        out[key] = normaliseSchema(value, options);
        break;
      case 'properties':
      case '$defs': {
        const props: JsonObject = {};
        for (const [name, sub] of Object.entries(isObject(value) ? value : {})) props[name] = normaliseSchema(sub, options);
        out[key] = props;
        break;
      }
      default:
        out[key] = value;
    }
  }
  if (options.optionalIsNullable && isObject(out['properties'])) {
    const required = new Set(asArray(out['required']).filter((r): r is string => typeof r === 'string'));
    for (const [name, sub] of Object.entries(out['properties'])) {
      if (!required.has(name)) out['properties'][name] = withNull(sub);
    }
  }
  return input['nullable'] === true ? withNull(out) : out;
}

function withNull(schema: Json): Json {
  if (!isObject(schema)) return schema;
  const type = schema['type'];
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return schema;
  if (typeof type === 'string' && schema['enum'] === undefined && schema['$ref'] === undefined) return { ...schema, type: [type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}

/** Extends the older page's enums with the newer page's values and the upstream notes' values. */
function openEnums(older: JsonObject, newer: JsonObject): void {
  for (const [name, schema] of Object.entries(older)) {
    if (!isObject(schema) || !Array.isArray(schema['enum'])) continue;
    const newerSchema = newer[`type_:${name}`] ?? newer[name];
    const extra = [...(isObject(newerSchema) && Array.isArray(newerSchema['enum']) ? newerSchema['enum'] : []), ...(NEWER_ENUM_VALUES[name] ?? [])];
    schema['enum'] = [...new Set([...schema['enum'], ...extra])];
  }
}

function formatErrors(page: SeedPage, schemaName: string, errors: ErrorObject[]): string[] {
  return errors.map((e) => `${page}:${schemaName} ${e.instancePath === '' ? '/' : e.instancePath} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

function componentsOf(doc: JsonObject): JsonObject {
  return asObject(asObject(doc['components'], 'components')['schemas'], 'components.schemas');
}

function stripPrefix(name: string): string {
  return name.startsWith('type_:') ? name.slice('type_:'.length) : name;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw new Error(`seed document: ${what} is not an object`);
  return value;
}

function asArray(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}
