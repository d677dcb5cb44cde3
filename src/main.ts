import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { startGateway, type Gateway } from './server.js';

/** Process entry point: configuration, signals, exit codes. */
let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // Plain stderr: the logger's level comes from the configuration that just failed.
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel });

/** Logging must never stop the process from acting: stdout may be a closed pipe (EPIPE). */
function safely(log: () => void): void {
  try {
    log();
  } catch {
    // Nowhere to write to; carry on.
  }
}

process.on('unhandledRejection', (reason) => {
  safely(() => logger.fatal({ error: describe(reason) }, 'unhandled promise rejection; exiting'));
  process.exit(1);
});
process.on('uncaughtException', (error) => {
  safely(() => logger.fatal({ error: describe(error) }, 'uncaught exception; exiting'));
  process.exit(1);
});

const graceMs = config.shutdownGraceMs;
let gateway: Gateway | undefined;
let stopping = false;

// Installed before the server starts: a signal during startup must not kill the process uncleanly.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) {
      safely(() => logger.warn({ signal }, 'second signal: exiting now'));
      process.exit(1);
    }
    stopping = true;
    if (gateway === undefined) {
      safely(() => logger.info({ signal }, 'signal during startup: exiting'));
      process.exit(0);
    }
    const closing = gateway.close(graceMs);
    safely(() => logger.info({ signal, graceMs }, 'shutting down: no new connections, finishing in-flight requests'));
    closing.then(
      () => {
        safely(() => logger.info('shutdown complete'));
        process.exit(0);
      },
      (error: unknown) => {
        safely(() => logger.error({ error: describe(error) }, 'shutdown failed'));
        process.exit(1);
      },
    );
  });
}

gateway = await startGateway({ config, logger });

/** Name and message only (never a stack that may hold request data), with the key scrubbed out. */
function describe(value: unknown): { name: string; message: string } {
  const scrub = (text: string): string => config.upstream.apiKey?.scrub(text) ?? text;
  return value instanceof Error
    ? { name: scrub(value.name), message: scrub(value.message).slice(0, 500) }
    : { name: 'NonError', message: scrub(String(value)).slice(0, 200) };
}
