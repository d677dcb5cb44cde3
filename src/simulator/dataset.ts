import type { WireBatchCallStatus, WireTelephonyProvider } from '../upstream/types.js';
import { AGENT_PROFILES, BATCH_NAME_TEMPLATES, MONTHS, REGIONS } from './catalog.js';
import type { Region } from './catalog.js';
import type { AgentRef } from './batch-factory.js';
import { makePlan } from './batch-factory.js';
import type { BatchPlan } from './plan.js';
import { Rng } from './random.js';

export interface Dataset {
  agents: AgentRef[];
  plans: BatchPlan[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Fixed counts, so every status and channel is present whatever the seed. */
const STATUS_COUNTS: ReadonlyArray<readonly [WireBatchCallStatus, number]> = [
  ['pending', 8],
  ['in_progress', 9],
  ['failed', 9],
  ['cancelled', 10],
  ['completed', 114],
];
const CHANNEL_COUNTS: ReadonlyArray<readonly [WireTelephonyProvider | null, number]> = [
  ['twilio', 62],
  ['sip_trunk', 30],
  ['exotel', 20],
  [null, 38],
];
const BIG_BATCHES = 5;
/** The first pending batch starts within two minutes, so a demo shows one starting. */
const PENDING_STARTS = [90_000, 4 * MINUTE, 15 * MINUTE, 45 * MINUTE, 3 * HOUR, DAY, 2 * DAY, 5 * DAY];

function expand<T>(counts: ReadonlyArray<readonly [T, number]>): T[] {
  return counts.flatMap(([value, count]) => Array.from({ length: count }, () => value));
}

/** The demo workspace: 5 agents and 150 batches placed around `now` (epoch ms). */
export function generateDataset(seed: number, now: number): Dataset {
  const rng = new Rng(seed);
  const agents: AgentRef[] = AGENT_PROFILES.map((p) => ({ id: rng.id('agent_'), name: p.name, kind: p.kind }));
  const statuses = rng.shuffle(expand(STATUS_COUNTS));
  const providers = rng.shuffle(expand(CHANNEL_COUNTS));
  const bigIndexes = new Set<number>();
  while (bigIndexes.size < BIG_BATCHES) bigIndexes.add(rng.int(0, statuses.length - 1));

  let pendingSeen = 0;
  let runningSeen = 0;
  const plans = statuses.map((status, i) => {
    const agent = rng.pick(agents);
    const region = rng.pick(REGIONS);
    const recipients = bigIndexes.has(i) ? rng.int(400, 800) : Math.round(5 + 295 * rng.float() ** 2);
    const createdAt = status === 'pending' || status === 'in_progress' ? undefined : now - rng.int(2 * HOUR, 120 * DAY);
    // `null` is a WhatsApp batch: only a missing entry defaults to twilio (`??` would turn null into twilio).
    const provider = providers[i];
    const startsInMs = status === 'pending' ? PENDING_STARTS[pendingSeen++ % PENDING_STARTS.length] : undefined;
    const progress = status === 'in_progress' ? Math.min(0.95, 0.1 + 0.1 * runningSeen++) : undefined;
    return makePlan(rng, {
      id: rng.id('btcal_'),
      name: batchName(rng, agent.kind, region, createdAt ?? now),
      agent,
      region,
      provider: provider === undefined ? 'twilio' : provider,
      status,
      recipients,
      now,
      ...(createdAt === undefined ? {} : { createdAt }),
      ...(startsInMs === undefined ? {} : { startsInMs }),
      ...(progress === undefined ? {} : { progress }),
    });
  });
  return { agents, plans };
}

export function batchName(rng: Rng, kind: AgentRef['kind'], region: Region, at: number): string {
  const month = MONTHS[new Date(at).getUTCMonth()] ?? 'January';
  return rng.pick(BATCH_NAME_TEMPLATES[kind]).replace('{city}', rng.pick(region.cities)).replace('{month}', month);
}
