import { readFileSync } from 'node:fs';
import { buildSchema, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSchemaFile } from '../src/schema/print.js';

const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');

describe('schema.graphql', () => {
  it('matches the Pothos schema (run `npm run schema` after changing the schema)', () => {
    expect(printSchemaFile(), 'schema.graphql is out of date: run `npm run schema`').toBe(committed);
  });

  it('carries the fixed surface of the spec', () => {
    const schema = buildSchema(committed);
    const fields = (type: string): Record<string, string> => {
      const object = schema.getType(type) as GraphQLObjectType | undefined;
      if (object === undefined) throw new Error(`missing type ${type}`);
      return Object.fromEntries(Object.values(object.getFields()).map((f) => [f.name, String(f.type)]));
    };
    expect(fields('Query')).toMatchObject({
      node: 'Node', nodes: '[Node]!', batchCall: 'BatchCall', batchCalls: 'BatchCallConnection!',
    });
    expect(fields('BatchCall')).toMatchObject({
      id: 'ID!', batchId: 'String!', name: 'String!', agentId: 'String!', agentName: 'String!', status: 'BatchCallStatus!',
      phoneNumberId: 'String', phoneProvider: 'TelephonyProvider', whatsappParams: 'BatchCallWhatsAppParams',
      createdAt: 'DateTime!', scheduledAt: 'DateTime!', lastUpdatedAt: 'DateTime!', totalCallsDispatched: 'Int!',
      totalCallsScheduled: 'Int!', totalCallsFinished: 'Int', retryCount: 'Int!', recipients: 'RecipientConnection',
    });
    expect(fields('Recipient')).toMatchObject({
      id: 'ID!', recipientId: 'String!', phoneNumber: 'String', whatsappUserId: 'String', status: 'BatchCallRecipientStatus!',
      createdAt: 'DateTime!', updatedAt: 'DateTime!', conversationId: 'String', dynamicVariables: 'JSON',
    });
    expect(fields('BatchCallConnection')).toMatchObject({ edges: '[BatchCallEdge!]!', pageInfo: 'PageInfo!' });
    expect(fields('BatchCallEdge')).toMatchObject({ cursor: 'String!', node: 'BatchCall!' });
    expect(fields('RecipientConnection')).toMatchObject({ edges: '[RecipientEdge!]!', pageInfo: 'PageInfo!', totalCount: 'Int!' });
    expect(fields('PageInfo')).toEqual({ hasNextPage: 'Boolean!', hasPreviousPage: 'Boolean!', startCursor: 'String', endCursor: 'String' });
    const values = (name: string): string[] => (schema.getType(name) as unknown as { getValues(): Array<{ name: string }> }).getValues().map((v) => v.name).sort();
    expect(values('BatchCallStatus')).toEqual(['CANCELLED', 'COMPLETED', 'FAILED', 'IN_PROGRESS', 'PENDING', 'UNKNOWN']);
    expect(values('BatchCallRecipientStatus')).toEqual(
      ['CANCELLED', 'COMPLETED', 'DISPATCHED', 'FAILED', 'INITIATED', 'IN_PROGRESS', 'PENDING', 'UNKNOWN', 'VOICEMAIL']);
    expect(values('TelephonyProvider')).toEqual(['EXOTEL', 'SIP_TRUNK', 'TWILIO', 'UNKNOWN']);
  });
});
