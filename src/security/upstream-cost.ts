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
import { tryDecodeGlobalId } from '../schema/global-id.js';

/** The page budgets of the fields that scan the upstream list (Config.aggregates). */
export interface ScanBudgets {
  /** Upstream list pages one filtered batch list may read (FILTER_PAGE_BUDGET). */
  readonly filterPageBudget: number;
  /** Upstream list pages one `batchCallsSummary` may read (SUMMARY_PAGE_BUDGET). */
  readonly summaryPageBudget: number;
}

/**
 * How many upstream calls an operation can cost, worked out from the document and its variables
 * before anything runs, so an expensive query is refused before the first call. It walks the
 * whole selection tree and multiplies what a field costs by how many parents it can run under:
 * - a batch list (`Query.batchCalls`, `Agent.batchCalls`): one list call (two when `after` points
 *   so far into an upstream page that `first` more items run past its end), or `filterPageBudget`
 *   list calls with a filter; it yields up to `first` batches, and each of them costs one detail
 *   call when `recipients` or `recipientStats` is selected below it (once, however often), plus
 *   whatever its own fields cost (`agent { batchCalls }`: a list per batch);
 * - `batchCall(id)`, `node(id)`, `nodes(ids)`: one detail call per distinct id (an Agent global id:
 *   one list call), plus what the fields below it cost; the detail already has the recipients;
 * - `batchCallsSummary`: `summaryPageBudget` list calls, and its fields below once per agent it can
 *   list (one per batch read, at most);
 * - subscription `batchCallUpdated`: nothing for its shared poll (the gateway pays for it), plus
 *   what the fields below cost for each event (the event's batch is a detail).
 * Identical aliases of the same batch are counted once, as the per-request DataLoader fetches
 * them once. Variables take their declared defaults. The estimate is an upper bound for what the
 * resolvers do against an upstream that fills its pages; the runtime budget (UpstreamBudget)
 * holds the line if an upstream sends short pages.
 */
export function estimateUpstreamCalls(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  budgets: ScanBudgets,
): number {
  const operation = findOperation(document, operationName);
  if (operation === undefined || operation.operation === 'mutation') return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const vars: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue !== undefined) vars[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  Object.assign(vars, variables ?? {});
  const walker = new CostWalker(fragments, vars, budgets);
  return operation.operation === 'query' ? walker.query(operation.selectionSet) : walker.subscription(operation.selectionSet);
}

/** A field as found at one level, with the fragments entered on the way to it (to end cycles). */
interface Found {
  field: FieldNode;
  path: ReadonlySet<string>;
}

/** What a selection costs for one parent object. */
interface Cost {
  /** Upstream calls. */
  calls: number;
  /** Whether the parent batch's detail is needed (`recipients` or `recipientStats` below it). */
  detail: boolean;
}

class CostWalker {
  readonly #fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly #variables: Readonly<Record<string, unknown>>;
  readonly #budgets: ScanBudgets;

  constructor(fragments: ReadonlyMap<string, FragmentDefinitionNode>, variables: Readonly<Record<string, unknown>>, budgets: ScanBudgets) {
    this.#fragments = fragments;
    this.#variables = variables;
    this.#budgets = budgets;
  }

  /** Root query fields: each list and summary on its own; single batches and agents once per distinct id. */
  query(set: SelectionSetNode): number {
    const detailIds = new Set<string>();
    const agentIds = new Set<string>();
    let calls = 0;
    for (const { field, path } of this.#fields(set, new Set())) {
      const args = this.#args(field);
      switch (field.name.value) {
        case 'batchCalls':
          calls += this.#list(field, path, args);
          break;
        case 'batchCall':
          detailIds.add(String(args['id']));
          calls += this.#below(field, path).calls;
          break;
        case 'node':
        case 'nodes': {
          const ids = field.name.value === 'node' ? [args['id']] : Array.isArray(args['ids']) ? args['ids'] : [args['ids']];
          const distinct = new Set(ids.map(String));
          for (const id of distinct) (tryDecodeGlobalId(id)?.typename === 'Agent' ? agentIds : detailIds).add(id);
          // Each distinct id runs the fields below once (repeats share their loads).
          calls += distinct.size * this.#below(field, path).calls;
          break;
        }
        case 'batchCallsSummary': {
          const { summaryPageBudget } = this.#budgets;
          calls += summaryPageBudget + summaryPageBudget * UPSTREAM_MAX_LIMIT * this.#below(field, path).calls;
          break;
        }
        default:
          break;
      }
    }
    return calls + detailIds.size + agentIds.size;
  }

  /** Root subscription fields: what one event costs. */
  subscription(set: SelectionSetNode): number {
    let calls = 0;
    for (const { field, path } of this.#fields(set, new Set())) {
      if (field.name.value === 'batchCallUpdated') calls += this.#below(field, path).calls;
    }
    return calls;
  }

  /** A batch list: its list calls, then up to `first` batches, each costing what is selected below it. */
  #list(field: FieldNode, path: ReadonlySet<string>, args: Record<string, unknown>): number {
    const first = pageSizeOf(args['first']);
    const lists = isActiveFilter(args['filter']) ? this.#budgets.filterPageBudget : listCalls(args['after'], first);
    const item = this.#below(field, path);
    return lists + first * (item.calls + (item.detail ? 1 : 0));
  }

  /** What the fields below `field` cost for one value of it. */
  #below(field: FieldNode, path: ReadonlySet<string>): Cost {
    const cost: Cost = { calls: 0, detail: false };
    for (const found of this.#fields(field.selectionSet, path)) {
      const name = found.field.name.value;
      if (name === 'batchCalls') {
        // Agent.batchCalls: a list of its own, with its own details.
        cost.calls += this.#list(found.field, found.path, this.#args(found.field));
        continue;
      }
      if (name === 'recipients' || name === 'recipientStats') cost.detail = true;
      const below = this.#below(found.field, found.path);
      cost.calls += below.calls;
      cost.detail ||= below.detail;
    }
    return cost;
  }

  /**
   * The fields of a selection set, fragments and inline fragments flattened. A fragment spread
   * twice at one level contributes its fields once; one already entered on the way here (a cycle,
   * refused by validation anyway) is not entered again, so the walk always ends.
   */
  #fields(set: SelectionSetNode | undefined, path: ReadonlySet<string>, level = new Set<string>()): Found[] {
    if (set === undefined) return [];
    const out: Found[] = [];
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) out.push({ field: selection, path });
      else if (selection.kind === Kind.INLINE_FRAGMENT) out.push(...this.#fields(selection.selectionSet, path, level));
      else {
        const name = selection.name.value;
        if (path.has(name) || level.has(name)) continue;
        level.add(name);
        out.push(...this.#fields(this.#fragments.get(name)?.selectionSet, new Set([...path, name]), level));
      }
    }
    return out;
  }

  #args(field: FieldNode): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const argument of field.arguments ?? []) out[argument.name.value] = valueFromASTUntyped(argument.value, this.#variables);
    return out;
  }
}

function findOperation(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (name === null || name === undefined || name === '') return operations.length === 1 ? operations[0] : undefined;
  return operations.find((o) => o.name?.value === name);
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

/**
 * Whether a `filter` argument makes the list a filtered scan: it sets some criterion (a filter
 * that sets none lists like no filter). Anything else that is not null is counted as a filter.
 */
function isActiveFilter(filter: unknown): boolean {
  if (filter === null || filter === undefined) return false;
  if (typeof filter !== 'object' || Array.isArray(filter)) return true;
  return Object.values(filter).some((value) => value !== null && value !== undefined);
}

function pageSizeOf(first: unknown): number {
  if (first === undefined || first === null) return PAGE_SIZE.default;
  // An out-of-range `first` is refused by the resolver before any call; count the most it could be.
  return typeof first === 'number' && Number.isInteger(first) ? Math.min(Math.max(first, 0), PAGE_SIZE.max) : PAGE_SIZE.max;
}
