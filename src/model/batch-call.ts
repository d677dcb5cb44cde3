import type { DecodedBatchDetail } from '../upstream/decode.js';
import type { WireBatchCall } from '../upstream/types.js';
import {
  toBatchCallStatus, toTelephonyProvider,
  type BatchCallStatus, type TelephonyProvider, type UnknownEnumReporter,
} from './enums.js';
import { asInt, asObject, asString, fromUnix } from './read.js';
import { RecipientList } from './recipient-list.js';

export interface WhatsAppParams {
  whatsappPhoneNumberId: string | null;
  whatsappCallPermissionRequestTemplateName: string;
  whatsappCallPermissionRequestTemplateLanguageCode: string;
}

export interface TelephonyCallConfig {
  ringingTimeoutSecs: number | null;
}

/** A batch call as the schema sees it, from a list item or a detail response. */
export interface BatchCall {
  batchId: string;
  name: string;
  agentId: string;
  agentName: string;
  status: BatchCallStatus;
  phoneNumberId: string | null;
  phoneProvider: TelephonyProvider | null;
  whatsappParams: WhatsAppParams | null;
  createdAt: Date;
  scheduledAt: Date;
  lastUpdatedAt: Date;
  totalCallsDispatched: number;
  totalCallsScheduled: number;
  totalCallsFinished: number | null;
  retryCount: number;
  branchId: string | null;
  branchName: string | null;
  environment: string | null;
  timezone: string | null;
  telephonyCallConfig: TelephonyCallConfig | null;
  targetConcurrencyLimit: number | null;
  /** Present when the batch came from the detail endpoint; list items need a detail fetch. */
  recipients: RecipientList | null;
}

export function toBatchCall(wire: WireBatchCall, report: UnknownEnumReporter): BatchCall {
  const provider = asString(wire.phone_provider);
  const config = asObject(wire.telephony_call_config);
  return {
    batchId: wire.id,
    name: wire.name,
    agentId: wire.agent_id,
    agentName: wire.agent_name,
    status: toBatchCallStatus(wire.status, report),
    phoneNumberId: asString(wire.phone_number_id),
    phoneProvider: provider === null ? null : toTelephonyProvider(provider, report),
    whatsappParams: toWhatsAppParams(wire.whatsapp_params),
    createdAt: fromUnix(wire.created_at_unix),
    scheduledAt: fromUnix(wire.scheduled_time_unix),
    lastUpdatedAt: fromUnix(wire.last_updated_at_unix),
    totalCallsDispatched: wire.total_calls_dispatched,
    totalCallsScheduled: wire.total_calls_scheduled,
    totalCallsFinished: asInt(wire.total_calls_finished),
    retryCount: asInt(wire.retry_count) ?? 0,
    branchId: asString(wire.branch_id),
    branchName: asString(wire.branch_name),
    environment: asString(wire.environment),
    timezone: asString(wire.timezone),
    telephonyCallConfig: config === null ? null : { ringingTimeoutSecs: asInt(config['ringing_timeout_secs']) },
    targetConcurrencyLimit: asInt(wire.target_concurrency_limit),
    recipients: null,
  };
}

export function toBatchCallDetail(detail: DecodedBatchDetail, report: UnknownEnumReporter): BatchCall {
  return { ...toBatchCall(detail.batch, report), recipients: new RecipientList(detail.batch.id, detail.recipients, report) };
}

function toWhatsAppParams(value: unknown): WhatsAppParams | null {
  const params = asObject(value);
  if (params === null) return null;
  return {
    whatsappPhoneNumberId: asString(params['whatsapp_phone_number_id']),
    whatsappCallPermissionRequestTemplateName: asString(params['whatsapp_call_permission_request_template_name']) ?? '',
    whatsappCallPermissionRequestTemplateLanguageCode:
      asString(params['whatsapp_call_permission_request_template_language_code']) ?? '',
  };
}
