import { writeSync } from 'node:fs';
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
  return pino(options, destination ?? stdoutLines());
}

/**
 * JSON lines to stdout, written synchronously (whole lines, retried while the pipe is full).
 * When stdout is gone (EPIPE and the like), logging stops instead of retrying forever: a logger
 * must never keep the process from shutting down.
 */
function stdoutLines(): DestinationStream {
  let broken = false;
  return {
    write(line: string) {
      if (broken) return;
      let pending = Buffer.from(line);
      for (let busy = 0; pending.length > 0;) {
        try {
          pending = pending.subarray(writeSync(1, pending));
          busy = 0;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || ++busy > 10_000) {
            broken = true;
            return;
          }
        }
      }
    },
  };
}
