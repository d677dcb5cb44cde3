import { builder } from '../builder.js';
import type {
  AgentOverride, ConversationConfigOverride, ConversationInitiationClientData, SourceInfo,
} from '../model/conversation-initiation.js';
import { ConversationInitiationSourceEnum } from './enums.js';

type Tts = NonNullable<ConversationConfigOverride['tts']>;
type Turn = NonNullable<ConversationConfigOverride['turn']>;
type SoftTimeout = NonNullable<Turn['softTimeoutConfig']>;
type Prompt = NonNullable<AgentOverride['prompt']>;

const SoftTimeoutRef = builder.objectRef<SoftTimeout>('SoftTimeoutConfigOverride').implement({
  description: 'Immediate feedback while a slow LLM answer is pending.',
  fields: (t) => ({
    message: t.exposeString('message', { nullable: true, description: 'Said when the soft timeout is reached while waiting for the LLM.' }),
  }),
});

const TurnRef = builder.objectRef<Turn>('TurnConfigOverride').implement({
  description: 'Turn-taking overrides.',
  fields: (t) => ({
    softTimeoutConfig: t.expose('softTimeoutConfig', { type: SoftTimeoutRef, nullable: true }),
  }),
});

const TtsRef = builder.objectRef<Tts>('TtsConversationalConfigOverride').implement({
  description: 'Text-to-speech overrides for the conversation.',
  fields: (t) => ({
    voiceId: t.exposeString('voiceId', { nullable: true, description: 'The voice to speak with.' }),
    stability: t.exposeFloat('stability', { nullable: true, description: 'Stability of the generated speech.' }),
    speed: t.exposeFloat('speed', { nullable: true, description: 'Speed of the generated speech.' }),
    similarityBoost: t.exposeFloat('similarityBoost', { nullable: true, description: 'Similarity boost of the generated speech.' }),
  }),
});

const ConversationRef = builder
  .objectRef<NonNullable<ConversationConfigOverride['conversation']>>('ConversationSettingsOverride')
  .implement({
    description: 'Conversation-level overrides.',
    fields: (t) => ({
      textOnly: t.exposeBoolean('textOnly', {
        nullable: true,
        description: 'Text only: audio is not processed (avoids audio pricing).',
      }),
    }),
  });

const PromptRef = builder.objectRef<Prompt>('PromptAgentModelOverride').implement({
  description: "Overrides of the agent's prompt and model.",
  fields: (t) => ({
    prompt: t.exposeString('prompt', { nullable: true, description: 'The prompt for the agent.' }),
    llm: t.exposeString('llm', {
      nullable: true,
      description: 'The LLM that answers, e.g. `gpt-4o` or `claude-sonnet-4@20250514` (an open list, hence a string).',
    }),
    nativeMcpServerIds: t.exposeStringList('nativeMcpServerIds', { nullable: true, description: 'Native MCP servers the agent uses.' }),
  }),
});

const AgentRef = builder.objectRef<AgentOverride>('AgentConfigOverride').implement({
  description: 'Agent overrides for this conversation.',
  fields: (t) => ({
    firstMessage: t.exposeString('firstMessage', {
      nullable: true,
      description: 'What the agent says first; when empty the agent waits for the recipient to speak.',
    }),
    language: t.exposeString('language', { nullable: true, description: 'Language of the agent, for ASR and TTS.' }),
    prompt: t.expose('prompt', { type: PromptRef, nullable: true }),
  }),
});

const ConfigOverrideRef = builder.objectRef<ConversationConfigOverride>('ConversationConfigClientOverride').implement({
  description: "Per-recipient overrides of the agent's conversation configuration.",
  fields: (t) => ({
    turn: t.expose('turn', { type: TurnRef, nullable: true }),
    tts: t.expose('tts', { type: TtsRef, nullable: true }),
    conversation: t.expose('conversation', { type: ConversationRef, nullable: true }),
    agent: t.expose('agent', { type: AgentRef, nullable: true }),
  }),
});

const SourceInfoRef = builder.objectRef<SourceInfo>('ConversationInitiationSourceInfo').implement({
  description: 'Where a conversation was started from.',
  fields: (t) => ({
    source: t.expose('source', { type: ConversationInitiationSourceEnum, nullable: true }),
    version: t.exposeString('version', { nullable: true, description: 'Version of the SDK that started it.' }),
  }),
});

export const ConversationInitiationClientDataRef = builder
  .objectRef<ConversationInitiationClientData>('ConversationInitiationClientData')
  .implement({
    description: 'Data the conversation with a recipient starts with.',
    fields: (t) => ({
      conversationConfigOverride: t.expose('conversationConfigOverride', { type: ConfigOverrideRef, nullable: true }),
      customLlmExtraBody: t.expose('customLlmExtraBody', {
        type: 'JSON',
        nullable: true,
        description: 'Extra body passed to a custom LLM.',
      }),
      userId: t.exposeString('userId', {
        nullable: true,
        description: "The end user's id in the agent owner's system.",
      }),
      sourceInfo: t.expose('sourceInfo', { type: SourceInfoRef, nullable: true }),
      dynamicVariables: t.expose('dynamicVariables', {
        type: 'JSON',
        nullable: true,
        description: 'Values substituted into the agent prompt for this recipient (strings, numbers, booleans).',
      }),
    }),
  });
