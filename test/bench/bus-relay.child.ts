/**
 * The floor for `promethean bench bus`: a plain `ws` relay that forwards every frame unchanged to
 * every subscribed connection, with no decoding, validation, auth, routing or queues. It speaks the
 * hub's subscribe op (`{"op":"subscribe",…}` → `{"op":"ack","ref"}`) so the same load generator
 * drives both. Prints `{ "url": … }` once listening; exits when stdin closes.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 16 * 1024 * 1024 });
const subscribers = new Set<WebSocket>();
const OP_PREFIX = Buffer.from('{"op"');

wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data.subarray(0, OP_PREFIX.length).equals(OP_PREFIX)) {
      const op = JSON.parse(data.toString()) as { op: string; ref?: string };
      if (op.op === 'subscribe') subscribers.add(ws);
      ws.send(JSON.stringify({ op: 'ack', ref: op.ref }));
      return;
    }
    for (const s of subscribers) s.send(data, { binary: isBinary });
  });
  ws.on('close', () => subscribers.delete(ws));
  ws.on('error', () => undefined);
});

wss.on('listening', () => {
  const address = wss.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `ws://127.0.0.1:${port}/bus` })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
