import { toConversationInitiationSource, type ConversationInitiationSource, type UnknownEnumReporter } from './enums.js';
import { asBoolean, asNumber, asObject, asString, asStringList, type JsonObject } from './read.js';

/** `conversation_initiation_client_data` of a recipient: per-call overrides and variables. */
export interface ConversationInitiationClientData {
  conversationConfigOverride: ConversationConfigOverride | null;
  customLlmExtraBody: JsonObject | null;
  userId: string | null;
  sourceInfo: SourceInfo | null;
  dynamicVariables: JsonObject | null;
}

export interface ConversationConfigOverride {
  turn: { softTimeoutConfig: { message: string | null } | null } | null;
  tts: { voiceId: string | null; stability: number | null; speed: number | null; similarityBoost: number | null } | null;
  conversation: { textOnly: boolean | null } | null;
  agent: AgentOverride | null;
}

export interface AgentOverride {
  firstMessage: string | null;
  language: string | null;
  prompt: { prompt: string | null; llm: string | null; nativeMcpServerIds: string[] | null } | null;
}

export interface SourceInfo {
  source: ConversationInitiationSource | null;
  version: string | null;
}

/** Applies `map` to an object-valued field, or gives null when the field is absent or not an object. */
function nested<T>(value: unknown, map: (object: JsonObject) => T): T | null {
  const object = asObject(value);
  return object === null ? null : map(object);
}

export function toConversationInitiationClientData(
  value: unknown,
  report: UnknownEnumReporter,
): ConversationInitiationClientData | null {
  return nested(value, (data) => ({
    conversationConfigOverride: nested(data['conversation_config_override'], toConfigOverride),
    customLlmExtraBody: asObject(data['custom_llm_extra_body']),
    userId: asString(data['user_id']),
    sourceInfo: nested(data['source_info'], (info) => {
      const source = asString(info['source']);
      return { source: source === null ? null : toConversationInitiationSource(source, report), version: asString(info['version']) };
    }),
    dynamicVariables: asObject(data['dynamic_variables']),
  }));
}

function toConfigOverride(override: JsonObject): ConversationConfigOverride {
  return {
    turn: nested(override['turn'], (turn) => ({
      softTimeoutConfig: nested(turn['soft_timeout_config'], (soft) => ({ message: asString(soft['message']) })),
    })),
    tts: nested(override['tts'], (tts) => ({
      voiceId: asString(tts['voice_id']),
      stability: asNumber(tts['stability']),
      speed: asNumber(tts['speed']),
      similarityBoost: asNumber(tts['similarity_boost']),
    })),
    conversation: nested(override['conversation'], (conversation) => ({ textOnly: asBoolean(conversation['text_only']) })),
    agent: nested(override['agent'], (agent) => ({
      firstMessage: asString(agent['first_message']),
      language: asString(agent['language']),
      prompt: nested(agent['prompt'], (prompt) => ({
        prompt: asString(prompt['prompt']),
        llm: asString(prompt['llm']),
        nativeMcpServerIds: asStringList(prompt['native_mcp_server_ids']),
      })),
    })),
  };
}
