/** Static vocabulary for the generated dataset: agents, batch names, people, places. */

export type AgentKind = 'appointments' | 'renewals' | 'collections' | 'survey' | 'deliveries';

export interface AgentProfile {
  name: string;
  kind: AgentKind;
}

export const AGENT_PROFILES: readonly AgentProfile[] = [
  { name: 'Ava – Appointment Desk', kind: 'appointments' },
  { name: 'Leo – Renewals Assistant', kind: 'renewals' },
  { name: 'Nora – Payment Reminders', kind: 'collections' },
  { name: 'Sam – Customer Feedback', kind: 'survey' },
  { name: 'Iris – Delivery Updates', kind: 'deliveries' },
];

/** `{city}` and `{month}` are filled in per batch. */
export const BATCH_NAME_TEMPLATES: Readonly<Record<AgentKind, readonly string[]>> = {
  appointments: [
    'Appointment confirmations – {city}',
    'Dental check-up reminders – {city}',
    'Next-day appointment reminders',
    'No-show follow-ups – {month}',
    'Vaccination slot confirmations – {city}',
  ],
  renewals: [
    'Q4 renewal reminders',
    'Annual plan renewals – {month}',
    'Expiring policies – {city} branch',
    'Premium tier upgrade offers',
    'Lapsed subscribers win-back',
  ],
  collections: [
    'Overdue invoices – 30 days',
    'Payment reminders – {month}',
    'Failed direct debit follow-up',
    'Overdue invoices – 60 days',
    'Payment plan check-ins – {city}',
  ],
  survey: [
    'NPS follow-up – premium customers',
    'Post-visit satisfaction survey – {city}',
    'Onboarding feedback – {month} cohort',
    'Churn interviews – {month}',
  ],
  deliveries: [
    'Delivery window confirmations – {city}',
    'Failed delivery reschedule',
    'Furniture delivery slots – {month}',
    'Return pickup scheduling – {city}',
  ],
};

export const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
] as const;

export type CountryCode = 'DE' | 'GB' | 'US' | 'IN' | 'AU';

export interface Region {
  country: CountryCode;
  cities: readonly string[];
  timezone: string;
  language: string;
  templateLanguage: string;
  currencyScale: number;
}

export const REGIONS: readonly Region[] = [
  { country: 'DE', cities: ['Berlin', 'Munich', 'Hamburg', 'Cologne'], timezone: 'Europe/Berlin', language: 'de', templateLanguage: 'de', currencyScale: 1 },
  { country: 'GB', cities: ['London', 'Manchester', 'Leeds', 'Bristol'], timezone: 'Europe/London', language: 'en', templateLanguage: 'en_GB', currencyScale: 1 },
  { country: 'US', cities: ['New York', 'Chicago', 'Austin', 'Seattle'], timezone: 'America/New_York', language: 'en', templateLanguage: 'en_US', currencyScale: 1 },
  { country: 'IN', cities: ['Mumbai', 'Bengaluru', 'Pune', 'Delhi'], timezone: 'Asia/Kolkata', language: 'hi', templateLanguage: 'hi', currencyScale: 80 },
  { country: 'AU', cities: ['Sydney', 'Melbourne', 'Brisbane'], timezone: 'Australia/Sydney', language: 'en', templateLanguage: 'en_US', currencyScale: 1.5 },
];

export const FIRST_NAMES: Readonly<Record<CountryCode, readonly string[]>> = {
  DE: ['Lukas', 'Anna', 'Jonas', 'Marie', 'Felix', 'Lea', 'Paul', 'Sophie', 'Elias', 'Mila'],
  GB: ['Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Jack', 'Emily', 'Noah', 'Grace'],
  US: ['James', 'Olivia', 'Liam', 'Emma', 'Mason', 'Sophia', 'Ethan', 'Mia', 'Lucas', 'Harper'],
  IN: ['Aarav', 'Diya', 'Vihaan', 'Ananya', 'Arjun', 'Isha', 'Rohan', 'Priya', 'Kabir', 'Meera'],
  AU: ['William', 'Charlotte', 'Thomas', 'Chloe', 'Henry', 'Ruby', 'Lachlan', 'Zoe', 'Cooper', 'Matilda'],
};

export const LAST_NAMES: Readonly<Record<CountryCode, readonly string[]>> = {
  DE: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Becker', 'Hoffmann', 'Wagner'],
  GB: ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Evans', 'Davies'],
  US: ['Johnson', 'Garcia', 'Miller', 'Davis', 'Martinez', 'Anderson', 'Thomas', 'Moore'],
  IN: ['Sharma', 'Patel', 'Iyer', 'Reddy', 'Gupta', 'Nair', 'Singh', 'Khan'],
  AU: ['Nguyen', 'Kelly', 'Campbell', 'Clarke', 'Walker', 'Robinson', 'Harris', 'King'],
};

/** Values from the seed's LLM enum. */
export const LLMS = ['gpt-4o-mini', 'gpt-4.1-mini', 'gemini-2.0-flash', 'gemini-2.5-flash', 'claude-sonnet-4-5', 'claude-haiku-4-5'] as const;

export const VOICE_IDS = ['21m00Tcm4TlvDq8ikWAM', 'EXAVITQu4vr4xnSDxMaL', 'pNInz6obpgDQGcFmaJgB', 'XB0fDUnXU5powFXDhCwa'] as const;

export const FIRST_MESSAGES: Readonly<Record<AgentKind, string>> = {
  appointments: 'Hi {{customer_name}}, this is Ava calling to confirm your appointment on {{appointment_date}}.',
  renewals: 'Hello {{customer_name}}, I am calling about your plan, which is up for renewal soon.',
  collections: 'Hi {{customer_name}}, this is a friendly reminder about an open balance on your account.',
  survey: 'Hi {{customer_name}}, do you have two minutes to tell us how your recent visit went?',
  deliveries: 'Hello {{customer_name}}, we would like to confirm the delivery window for your order.',
};

export const BRANCH_NAMES = ['Main', 'Shorter intro experiment', 'Friendlier tone v2'] as const;
