// A keep-alive HTTP server answering the providers' status JSON instantly, for latency and
// throughput benchmarks (run as a child process so it has its own core). Prints its URL.
import { createServer } from 'node:http';

const tokenio = JSON.stringify({
  status: 'PROCESSED',
  tokenId: 'tt:JX9dxvHSPJVx4YpJ89dgXUhyxu82XRNU8Me8ThkcXD4E:5zKtXEAq',
  transferId: 't:3Bj8u2rzaJDXUEsczxW1YYQr1NQKshoAp3Lgcy6PVZ1T:5zKtXEAq',
  bankId: 'ob-modelo',
  signature: { keyId: 'sim-key-1', memberId: 'm:LSFqGHSqZg9aKraN5JhKSLL9dyA6:5zKtXEAq', signature: 'wMQTCRaLjhNImUqZxtsI-szc8oDDkzFe82kdRQY6MXvtu4BTnMmbZFf75mmo3IMQaCR0rHwJqoRqEnwmTHdJWw' },
});
const token = (id, status, tok) => ({
  type: 'payment-service-token',
  id,
  payment_method_id: '46973e9d-88a7-44a6-abfe-be4ff0134ff4',
  payment_service_id: 'fffd152a-9532-4087-9a4f-de58754210f0',
  status,
  approval_url: null,
  token: tok,
  created_at: '2026-11-21T09:00:00.000Z',
  updated_at: '2026-11-21T09:00:01.000Z',
});
const gr4vy = JSON.stringify({
  items: [
    token('0b0d7b0e-1b4c-4b5a-9f0e-2a5b1f1c0a01', 'failed', null),
    token('0b0d7b0e-1b4c-4b5a-9f0e-2a5b1f1c0a02', 'processing', null),
    token('0b0d7b0e-1b4c-4b5a-9f0e-2a5b1f1c0a03', 'succeeded', 'gr4vy_pst_8Jq2Lm'),
  ],
  limit: 20,
  next_cursor: null,
  previous_cursor: null,
});

const server = createServer((req, res) => {
  const body = req.url.startsWith('/token-requests/') ? tokenio : req.url.startsWith('/payment-methods/') ? gr4vy : null;
  if (body === null) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}`));
const stop = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
