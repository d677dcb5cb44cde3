import {
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { PAGE_SIZE } from '../input.js';
import { decodeBatchCursor } from '../pagination/cursors.js';
import { UPSTREAM_MAX_LIMIT } from '../pagination/upstream-window.js';

/**
 * How many upstream calls an operation can cost, worked out from the document and its variables
 * before anything runs, so an expensive query is refused before the first call:
 * - `batchCalls`: one list call (two when `after` points so far into an upstream page that
 *   `first` more items run past its end), plus one detail call per batch (`first`) when
 *   `recipients` is selected anywhere below it;
 * - `batchCall(id)`, `node(id)`: one detail call per distinct id; `nodes(ids)`: one per distinct id.
 * Identical aliases of the same batch are counted once, as the per-request DataLoader fetches
 * them once. Variables take their declared defaults. The estimate is an upper bound for what the
 * resolvers do against an upstream that fills its pages; the runtime budget (UpstreamBudget)
 * holds the line if an upstream sends short pages.
 */
export function estimateUpstreamCalls(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): number {
  const operation = findOperation(document, operationName);
  if (operation === undefined || operation.operation !== 'query') return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const vars: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue !== undefined) vars[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  Object.assign(vars, variables ?? {});
  const detailIds = new Set<string>();
  let calls = 0;
  for (const field of fieldsOf(operation.selectionSet, fragments, new Set())) {
    const args = argumentValues(field, vars);
    switch (field.name.value) {
      case 'batchCalls': {
        const first = pageSizeOf(args['first']);
        calls += listCalls(args['after'], first);
        if (selects(field.selectionSet, 'recipients', fragments, new Set())) calls += first;
        break;
      }
      case 'batchCall':
      case 'node':
        detailIds.add(String(args['id']));
        break;
      case 'nodes': {
        const ids = args['ids'];
        for (const id of Array.isArray(ids) ? ids : [ids]) detailIds.add(String(id));
        break;
      }
      default:
        break;
    }
  }
  return calls + detailIds.size;
}

function findOperation(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (name === null || name === undefined || name === '') return operations.length === 1 ? operations[0] : undefined;
  return operations.find((o) => o.name?.value === name);
}

/** The fields of a selection set, fragments and inline fragments flattened. */
function fieldsOf(set: SelectionSetNode | undefined, fragments: ReadonlyMap<string, FragmentDefinitionNode>, seen: Set<string>): FieldNode[] {
  if (set === undefined) return [];
  const out: FieldNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) out.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) out.push(...fieldsOf(selection.selectionSet, fragments, seen));
    else if (!seen.has(selection.name.value)) {
      // A fragment spread twice at one level contributes its fields once (and cycles end).
      seen.add(selection.name.value);
      out.push(...fieldsOf(fragments.get(selection.name.value)?.selectionSet, fragments, seen));
    }
  }
  return out;
}

/**
 * Whether a field of this name is selected anywhere below `set`. `seen` holds the fragments
 * already entered on this search, so fragment cycles (refused by validation anyway) end at once.
 */
function selects(
  set: SelectionSetNode | undefined,
  name: string,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  seen: Set<string>,
): boolean {
  if (set === undefined) return false;
  return fieldsOf(set, fragments, seen).some(
    (field) => field.name.value === name || selects(field.selectionSet, name, fragments, seen),
  );
}

/** One upstream page, or two when the cursor's position in its page plus `first` runs past it. */
function listCalls(after: unknown, first: number): number {
  if (typeof after !== 'string') return 1;
  try {
    const { skip } = decodeBatchCursor(after);
    return skip + first > UPSTREAM_MAX_LIMIT ? 2 : 1;
  } catch {
    return 1; // refused by the resolver before any call
  }
}

function argumentValues(field: FieldNode, variables: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const argument of field.arguments ?? []) out[argument.name.value] = valueFromASTUntyped(argument.value, variables);
  return out;
}

function pageSizeOf(first: unknown): number {
  if (first === undefined || first === null) return PAGE_SIZE.default;
  // An out-of-range `first` is refused by the resolver before any call; count the most it could be.
  return typeof first === 'number' && Number.isInteger(first) ? Math.min(Math.max(first, 0), PAGE_SIZE.max) : PAGE_SIZE.max;
}
