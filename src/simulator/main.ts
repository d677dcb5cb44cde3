import { LOG_LEVELS, type LogLevel } from '../config.js';
import { createLogger } from '../logger.js';
import { startSimulator } from './server.js';

/** `npm run simulator`: the upstream simulator alone, for frontend work and other tools. */
const requestedLevel = process.env['LOG_LEVEL'];
const level: LogLevel = LOG_LEVELS.find((l) => l === requestedLevel) ?? 'info';
const logger = createLogger({ level });

function portFrom(value: string | undefined): number {
  if (value === undefined || value === '') return 4010;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    logger.fatal({ variable: 'SIMULATOR_PORT' }, 'SIMULATOR_PORT must be an integer between 0 and 65535');
    process.exit(1);
  }
  return port;
}

const apiKey = process.env['SIMULATOR_API_KEY'];
const seed = process.env['SIMULATOR_SEED'];
const simulator = await startSimulator({
  port: portFrom(process.env['SIMULATOR_PORT']),
  host: process.env['SIMULATOR_HOST'] ?? '127.0.0.1',
  ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }),
  ...(seed === undefined || seed === '' || !Number.isInteger(Number(seed)) ? {} : { seed: Number(seed) }),
});
logger.info(
  { url: simulator.url, batches: simulator.store.batchIds().length, agents: simulator.store.agents().length, keyRequired: apiKey !== undefined && apiKey !== '' },
  `upstream simulator listening on ${simulator.url} (faults: POST ${simulator.url}/__simulator/faults)`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void simulator.close().then(() => process.exit(0));
  });
}
