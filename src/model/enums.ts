/**
 * GraphQL enum values and their mapping from the upstream's open string enums. A value the gateway
 * does not know becomes UNKNOWN and is reported once, so a new upstream status never fails a query.
 */

export const BATCH_CALL_STATUSES = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'UNKNOWN'] as const;
export type BatchCallStatus = (typeof BATCH_CALL_STATUSES)[number];

export const RECIPIENT_STATUSES = [
  'PENDING', 'DISPATCHED', 'INITIATED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'VOICEMAIL', 'UNKNOWN',
] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

export const TELEPHONY_PROVIDERS = ['TWILIO', 'SIP_TRUNK', 'EXOTEL', 'UNKNOWN'] as const;
export type TelephonyProvider = (typeof TELEPHONY_PROVIDERS)[number];

export const CONVERSATION_INITIATION_SOURCES = [
  'UNKNOWN', 'ANDROID_SDK', 'NODE_JS_SDK', 'REACT_NATIVE_SDK', 'REACT_SDK', 'JS_SDK', 'PYTHON_SDK', 'WIDGET',
  'SIP_TRUNK', 'TWILIO', 'GENESYS', 'SWIFT_SDK', 'WHATSAPP', 'FLUTTER_SDK',
] as const;
export type ConversationInitiationSource = (typeof CONVERSATION_INITIATION_SOURCES)[number];

/** Called with the enum's name and the unexpected wire value. */
export type UnknownEnumReporter = (enumName: string, value: string) => void;

function mapper<T extends string>(enumName: string, values: readonly T[]) {
  const known = new Map<string, T>();
  for (const value of values) if (value !== 'UNKNOWN') known.set(value.toLowerCase(), value);
  return (wire: string, report: UnknownEnumReporter): T => {
    const value = known.get(wire);
    if (value !== undefined) return value;
    report(enumName, wire);
    return 'UNKNOWN' as T;
  };
}

export const toBatchCallStatus = mapper('BatchCallStatus', BATCH_CALL_STATUSES);
export const toRecipientStatus = mapper('BatchCallRecipientStatus', RECIPIENT_STATUSES);
export const toTelephonyProvider = mapper('TelephonyProvider', TELEPHONY_PROVIDERS);
const sourceMapper = mapper('ConversationInitiationSource', CONVERSATION_INITIATION_SOURCES);
/** The upstream's own `unknown` source is a known value that happens to map to UNKNOWN. */
export const toConversationInitiationSource = (wire: string, report: UnknownEnumReporter): ConversationInitiationSource =>
  wire === 'unknown' ? 'UNKNOWN' : sourceMapper(wire, report);

/** The wire spelling of a recipient status, for filtering the raw array without mapping it. */
export function wireRecipientStatus(status: RecipientStatus): string {
  return status.toLowerCase();
}
