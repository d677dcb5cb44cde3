import type { WireConversationInitiationClientData, WireDynamicVariable } from '../upstream/types.js';
import type { CountryCode } from './catalog.js';
import { FIRST_MESSAGES, FIRST_NAMES, LAST_NAMES, LLMS, VOICE_IDS } from './catalog.js';
import type { BatchPlan } from './plan.js';
import { Rng, mixSeed } from './random.js';

/**
 * A recipient's static data is a pure function of (batch seed, index): it is regenerated on
 * render instead of being held in memory, which keeps 50,000-recipient batches cheap.
 */
export interface RecipientProfile {
  id: string;
  conversationId: string;
  phoneNumber: string | null;
  whatsappUserId: string | null;
  clientData: WireConversationInitiationClientData;
}

const US_AREA_CODES = ['212', '312', '415', '512', '206', '646', '305'];
const DAY = 86_400_000;

function recipientRng(plan: BatchPlan, index: number): Rng {
  return new Rng(mixSeed(plan.seed, index));
}

/** The id alone (first draw of the stream), for lookups without building the whole profile. */
export function recipientId(plan: BatchPlan, index: number): string {
  return recipientRng(plan, index).id('rcpt_');
}

export function recipientProfile(plan: BatchPlan, index: number): RecipientProfile {
  const rng = recipientRng(plan, index);
  const id = rng.id('rcpt_');
  const conversationId = rng.id('conv_');
  const e164 = phoneNumber(rng, plan.region.country);
  const whatsapp = plan.channel.kind === 'whatsapp';
  return {
    id,
    conversationId,
    phoneNumber: whatsapp ? null : e164,
    // WhatsApp identifies users by their number's digits.
    whatsappUserId: whatsapp ? e164.slice(1) : null,
    clientData: clientData(rng, plan),
  };
}

function phoneNumber(rng: Rng, country: CountryCode): string {
  switch (country) {
    case 'DE':
      return `+4915${rng.int(1, 9)}${rng.digits(8)}`;
    case 'GB':
      return `+447${rng.int(4, 9)}${rng.digits(8)}`;
    case 'US':
      return `+1${rng.pick(US_AREA_CODES)}${rng.int(2, 9)}${rng.digits(6)}`;
    case 'IN':
      return `+91${rng.int(6, 9)}${rng.digits(9)}`;
    case 'AU':
      return `+614${rng.digits(8)}`;
  }
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dynamicVariables(rng: Rng, plan: BatchPlan): Record<string, WireDynamicVariable> {
  const { country, cities, currencyScale } = plan.region;
  const vars: Record<string, WireDynamicVariable> = {
    customer_name: `${rng.pick(FIRST_NAMES[country])} ${rng.pick(LAST_NAMES[country])}`,
    appointment_date: isoDate(plan.scheduledAt + rng.int(1, 14) * DAY),
    amount_due: Math.round(rng.int(1500, 95_000) * currencyScale) / 100,
    is_vip: rng.chance(0.15),
  };
  switch (plan.agentKind) {
    case 'appointments':
      vars['appointment_time'] = `${rng.int(8, 17)}:${rng.pick(['00', '15', '30', '45'])}`;
      vars['clinic_city'] = rng.pick(cities);
      break;
    case 'renewals':
      vars['policy_number'] = `POL-${rng.digits(6)}`;
      vars['years_as_customer'] = rng.int(1, 12);
      break;
    case 'collections':
      vars['invoice_number'] = `INV-${rng.digits(5)}`;
      vars['days_overdue'] = rng.pick([30, 45, 60, 90]);
      break;
    case 'survey':
      vars['last_visit_date'] = isoDate(plan.createdAt - rng.int(1, 20) * DAY);
      vars['store_city'] = rng.pick(cities);
      break;
    case 'deliveries':
      vars['order_number'] = `ORD-${rng.digits(7)}`;
      vars['delivery_window'] = rng.pick(['08:00–12:00', '12:00–16:00', '16:00–20:00']);
      break;
  }
  vars['notes'] = rng.chance(0.1) ? 'Prefers a call after 5 pm' : null;
  return vars;
}

function clientData(rng: Rng, plan: BatchPlan): WireConversationInitiationClientData {
  const data: WireConversationInitiationClientData = {
    dynamic_variables: dynamicVariables(rng, plan),
    user_id: rng.chance(0.6) ? `crm_${rng.digits(7)}` : null,
    source_info: { source: sourceOf(plan), version: null },
  };
  if (rng.chance(0.3)) {
    data.conversation_config_override = {
      agent: {
        first_message: FIRST_MESSAGES[plan.agentKind],
        language: plan.region.language,
        prompt: { llm: rng.pick(LLMS) },
      },
      tts: {
        voice_id: rng.pick(VOICE_IDS),
        stability: rng.int(35, 80) / 100,
        speed: rng.int(90, 115) / 100,
      },
    };
  }
  return data;
}

function sourceOf(plan: BatchPlan): string {
  if (plan.channel.kind === 'whatsapp') return 'whatsapp';
  return plan.channel.provider === 'exotel' ? 'unknown' : plan.channel.provider;
}
