import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Media ranges under which yoga streams a subscription: Server-Sent Events, multipart, or anything. */
const STREAMING = new Set(['text/event-stream', 'multipart/mixed', '*/*']);

/** Whether an Accept header lets the response be a stream (no header counts as anything). */
export function acceptsStream(accept: string | null): boolean {
  if (accept === null || accept.trim() === '') return true;
  return accept.split(',').some((range) => STREAMING.has((range.split(';')[0] ?? '').trim().toLowerCase()));
}

/**
 * Refuses, before anything is subscribed, a subscription whose client cannot take a stream.
 * Yoga runs a subscription before it picks a response type; for such a client it would then
 * answer 406 and drop the stream without closing it, leaving a watched batch and its poll held
 * against the live limits. This answers with a clear error instead (code BAD_REQUEST).
 */
export function useStreamingSubscriptions(): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const { request } = args.contextValue as { request?: Request };
      if (acceptsStream(request?.headers.get('accept') ?? null)) return;
      setResultAndStopExecution({
        errors: [new GraphQLError('Subscriptions are streamed: send the request with `Accept: text/event-stream`', {
          extensions: { code: 'BAD_REQUEST' },
        })],
      });
    },
  };
}
