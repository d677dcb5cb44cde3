import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A string that must never be printed. Every way of turning it into text (template literals,
 * JSON.stringify, util.inspect, pino serialisation) yields `[redacted]`; only `reveal()` gives the
 * value, and only the upstream client calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** A short, stable fingerprint: safe to log or to key caches by, never reversible to the value. */
  fingerprint(): string {
    return createHash('sha256').update(this.#value).digest('hex').slice(0, 16);
  }

  /** `text` with every occurrence of the value replaced: for text of unknown origin (crash messages). */
  scrub(text: string): string {
    return this.#value === '' ? text : text.split(this.#value).join(REDACTED);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
