import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; stdout by default. Tests pass a stream to capture every line. */
  destination?: DestinationStream;
}

/**
 * JSON lines. Redaction is a second line of defence: the key is never passed to the logger, but a
 * header object logged by mistake must not carry it either.
 */
export function createLogger({ level, destination }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service: 'batch-calling-gateway' },
    redact: {
      paths: ['xi-api-key', '*.xi-api-key', 'headers.authorization', '*.headers.authorization', 'authorization'],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
