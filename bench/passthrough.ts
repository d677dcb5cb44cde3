/**
 * The baseline for `npm run bench`: the least a gateway could do for one batch.
 *
 * A plain node:http server: GET /batch/:id does the same upstream GET the gateway does
 * (GET {UPSTREAM_URL}/v1/convai/batch-calling/:id with the xi-api-key header) over an undici Pool
 * with keep-alive, then relays the upstream status and JSON body unchanged (buffered, with a
 * Content-Length). GET /health answers 200. No parsing, no validation, no auth, no logging.
 *
 * Environment: UPSTREAM_URL, UPSTREAM_API_KEY (required); PORT (default 0), HOST (default
 * 127.0.0.1), UPSTREAM_CONNECTIONS (default 16). Prints one JSON line { url } when listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstreamUrl = process.env['UPSTREAM_URL'];
const apiKey = process.env['UPSTREAM_API_KEY'];
if (upstreamUrl === undefined || apiKey === undefined || upstreamUrl === '' || apiKey === '') {
  process.stderr.write('UPSTREAM_URL and UPSTREAM_API_KEY are required\n');
  process.exit(2);
}
const connections = Number(process.env['UPSTREAM_CONNECTIONS'] ?? '16');
const DETAIL_PREFIX = '/v1/convai/batch-calling/';

const pool = new Pool(upstreamUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url.startsWith('/batch/')) {
    const id = url.slice('/batch/'.length);
    pool
      .request({ path: `${DETAIL_PREFIX}${id}`, method: 'GET', headers: { 'xi-api-key': apiKey, accept: 'application/json' } })
      .then(async (upstream) => {
        const body = Buffer.from(await upstream.body.arrayBuffer());
        res.writeHead(upstream.statusCode, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      })
      .catch(() => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end('{"error":"upstream"}');
        } else res.destroy();
      });
    return;
  }
  if (req.method === 'GET' && url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":"not found"}');
});
server.keepAliveTimeout = 65_000;

server.listen(Number(process.env['PORT'] ?? '0'), process.env['HOST'] ?? '127.0.0.1', () => {
  const address = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://${address.address}:${address.port}` })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void pool.close().then(() => process.exit(0));
  });
}
