/**
 * The upstream simulator for `npm run bench`, as its own process.
 *
 * Starts the simulator (with its control endpoints, for the request log) and adds two terminal
 * (completed) batches whose serialized detail bodies therefore never change, so the simulator's
 * per-state body cache (store.detailBody) serves them from memory on every request:
 *   - `terminal`: a typical batch (80 recipients, about the dataset's median) for the throughput runs;
 *   - `big`: 50 000 recipients, for the paging and memory figures.
 * Both are created far in the past so they sort at the end of the workspace list (list scenarios
 * never touch them). Both bodies are rendered once here, before the url is printed.
 *
 * Prints one JSON line on stdout: { url, terminal, big, terminalBytes, bigBytes }.
 * Environment: SIMULATOR_API_KEY (required), SIMULATOR_HOST (default 127.0.0.1), SIMULATOR_PORT (default 0).
 */
import { startSimulator } from '../src/simulator/server.js';

const apiKey = process.env['SIMULATOR_API_KEY'];
if (apiKey === undefined || apiKey === '') {
  process.stderr.write('SIMULATOR_API_KEY is required\n');
  process.exit(2);
}

const simulator = await startSimulator({
  port: Number(process.env['SIMULATOR_PORT'] ?? '0'),
  host: process.env['SIMULATOR_HOST'] ?? '127.0.0.1',
  apiKey,
  control: true,
  // The bench clears the log before every measured window; this only bounds a forgotten clear.
  maxRecordedRequests: 50_000,
});

const nowUnix = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const terminal = simulator.store.addBatch({ status: 'completed', recipients: 80, name: 'Bench terminal batch', createdAtUnix: nowUnix - 400 * DAY });
const big = simulator.store.addBatch({ status: 'completed', recipients: 50_000, name: 'Bench 50k batch', createdAtUnix: nowUnix - 401 * DAY });

function body(id: string): Buffer {
  const first = simulator.store.detailBody(id);
  const second = simulator.store.detailBody(id);
  if (first === undefined || second !== first) throw new Error(`batch ${id}: detail body is not stable (not terminal?)`);
  return first;
}
const terminalBytes = body(terminal).length;
const bigBytes = body(big).length;

process.stdout.write(`${JSON.stringify({ url: simulator.url, terminal, big, terminalBytes, bigBytes })}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void simulator.close().then(() => process.exit(0));
  });
}
