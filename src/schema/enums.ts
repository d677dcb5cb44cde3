import { builder } from '../builder.js';
import {
  BATCH_CALL_STATUSES, CONVERSATION_INITIATION_SOURCES, RECIPIENT_STATUSES, TELEPHONY_PROVIDERS,
} from '../model/enums.js';

const UNKNOWN = 'UNKNOWN stands for a value the upstream added after this schema was written.';

export const BatchCallStatusEnum = builder.enumType('BatchCallStatus', {
  description: `Lifecycle of a batch call. ${UNKNOWN}`,
  values: BATCH_CALL_STATUSES,
});

export const RecipientStatusEnum = builder.enumType('BatchCallRecipientStatus', {
  description: `Where one recipient of a batch call stands. ${UNKNOWN}`,
  values: RECIPIENT_STATUSES,
});

export const TelephonyProviderEnum = builder.enumType('TelephonyProvider', {
  description: `The telephony provider of the phone number a batch calls from. ${UNKNOWN}`,
  values: TELEPHONY_PROVIDERS,
});

export const ConversationInitiationSourceEnum = builder.enumType('ConversationInitiationSource', {
  description: `What started a conversation. ${UNKNOWN} It also stands for the upstream's own \`unknown\`.`,
  values: CONVERSATION_INITIATION_SOURCES,
});
