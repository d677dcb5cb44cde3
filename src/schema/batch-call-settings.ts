import { builder } from '../builder.js';
import type { TelephonyCallConfig, WhatsAppParams } from '../model/batch-call.js';

export const WhatsAppParamsRef = builder.objectRef<WhatsAppParams>('BatchCallWhatsAppParams').implement({
  description: 'How a WhatsApp batch reaches its recipients.',
  fields: (t) => ({
    whatsappPhoneNumberId: t.exposeString('whatsappPhoneNumberId', {
      nullable: true,
      description: 'The WhatsApp business phone number the calls come from.',
    }),
    whatsappCallPermissionRequestTemplateName: t.exposeString('whatsappCallPermissionRequestTemplateName', {
      description: 'Name of the message template that asks a recipient for permission to call.',
    }),
    whatsappCallPermissionRequestTemplateLanguageCode: t.exposeString('whatsappCallPermissionRequestTemplateLanguageCode', {
      description: 'Language code of that permission-request template.',
    }),
  }),
});

export const TelephonyCallConfigRef = builder.objectRef<TelephonyCallConfig>('TelephonyCallConfig').implement({
  description: 'Per-call telephony settings of a batch.',
  fields: (t) => ({
    ringingTimeoutSecs: t.exposeInt('ringingTimeoutSecs', {
      nullable: true,
      description:
        "How long to ring a recipient before giving up, in seconds (upstream default 60); the provider's own limits apply too.",
    }),
  }),
});
