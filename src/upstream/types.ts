/**
 * Wire shapes exactly as the batch-calling REST API sends them (snake_case).
 *
 * The union of the two seed pages: the detail page (`GET /v1/convai/batch-calling/{id}`) is older,
 * the list page (`GET /v1/convai/batch-calling/workspace`) newer. Fields only one page documents are
 * optional here; the newest upstream marks nullable fields as required, so optional fields may
 * also arrive as `null`. Enums are open: an unknown value is a plain string.
 */

export type WireBatchCallStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

export type WireRecipientStatus =
  | 'pending'
  | 'dispatched'
  | 'initiated'
  | 'in_progress'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'voicemail';

export type WireTelephonyProvider = 'twilio' | 'sip_trunk' | 'exotel';

/** An enum the upstream may extend at any time. */
export type Open<T extends string> = T | (string & {});

export interface WireWhatsAppParams {
  whatsapp_phone_number_id?: string | null;
  whatsapp_call_permission_request_template_name: string;
  whatsapp_call_permission_request_template_language_code: string;
}

export interface WireTelephonyCallConfig {
  ringing_timeout_secs?: number;
}

/** Fields common to list items and the detail response. */
export interface WireBatchCallBase {
  id: string;
  phone_number_id?: string | null;
  phone_provider?: Open<WireTelephonyProvider> | null;
  whatsapp_params?: WireWhatsAppParams | null;
  name: string;
  agent_id: string;
  created_at_unix: number;
  scheduled_time_unix: number;
  total_calls_dispatched: number;
  total_calls_scheduled: number;
  last_updated_at_unix: number;
  status: Open<WireBatchCallStatus>;
  retry_count?: number;
  agent_name: string;
  // Newer fields (list page; the live detail response carries them too).
  branch_id?: string | null;
  branch_name?: string | null;
  environment?: string | null;
  timezone?: string | null;
  total_calls_finished?: number;
  telephony_call_config?: WireTelephonyCallConfig | null;
  target_concurrency_limit?: number | null;
}

/** An item of `WorkspaceBatchCallsResponse.batch_calls` (`BatchCallResponse`). */
export type WireBatchCall = WireBatchCallBase;

export interface WireWorkspaceBatchCallsResponse {
  batch_calls: WireBatchCall[];
  next_doc?: string | null;
  has_more?: boolean;
}

export interface WireSoftTimeoutConfigOverride {
  message?: string | null;
}

export interface WireTurnConfigOverride {
  soft_timeout_config?: WireSoftTimeoutConfigOverride | null;
}

export interface WireTtsConversationalConfigOverride {
  voice_id?: string | null;
  stability?: number | null;
  speed?: number | null;
  similarity_boost?: number | null;
}

export interface WireConversationConfigOverride {
  text_only?: boolean | null;
}

export interface WirePromptAgentApiModelOverride {
  prompt?: string | null;
  /** An LLM name such as `gpt-4o` or `claude-sonnet-4@20250514` (open enum). */
  llm?: string | null;
  native_mcp_server_ids?: string[] | null;
}

export interface WireAgentConfigOverride {
  first_message?: string | null;
  language?: string | null;
  prompt?: WirePromptAgentApiModelOverride | null;
}

export interface WireConversationConfigClientOverride {
  turn?: WireTurnConfigOverride | null;
  tts?: WireTtsConversationalConfigOverride | null;
  conversation?: WireConversationConfigOverride | null;
  agent?: WireAgentConfigOverride | null;
}

export interface WireConversationInitiationSourceInfo {
  source?: string | null;
  version?: string | null;
}

export type WireDynamicVariable = string | number | boolean | null;

export interface WireConversationInitiationClientData {
  conversation_config_override?: WireConversationConfigClientOverride;
  custom_llm_extra_body?: Record<string, unknown>;
  user_id?: string | null;
  source_info?: WireConversationInitiationSourceInfo;
  dynamic_variables?: Record<string, WireDynamicVariable>;
}

/** `OutboundCallRecipientResponseModel`. */
export interface WireRecipient {
  id: string;
  phone_number?: string | null;
  whatsapp_user_id?: string | null;
  status: Open<WireRecipientStatus>;
  created_at_unix: number;
  updated_at_unix: number;
  conversation_id: string | null;
  conversation_initiation_client_data?: WireConversationInitiationClientData | null;
}

/** `BatchCallDetailedResponse`: a batch with all its recipients. */
export interface WireBatchCallDetail extends WireBatchCallBase {
  recipients: WireRecipient[];
}

/** Error bodies, in the shapes the live API has used. */
export type WireErrorBody =
  | { detail: { type?: string; code?: string; message?: string; status?: string; request_id?: string; param?: string } }
  | { detail: { status: string; message: string } }
  | { detail: Array<{ loc: Array<string | number>; msg: string; type: string }> };

export const UPSTREAM_PATHS = {
  list: '/v1/convai/batch-calling/workspace',
  detailPrefix: '/v1/convai/batch-calling/',
} as const;
