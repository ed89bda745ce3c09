/**
 * The floor for `promethean bench bus`: a plain `ws` relay that forwards every frame unchanged to
 * every subscribed connection, with no decoding, validation, auth, routing or queues. It speaks the
 * hub's subscribe op (`{"op":"subscribe",…}` → `{"op":"ack","ref"}`) so the same load generator
 * drives both. Prints `{ "url": … }` once listening; exits when stdin closes.
 *
 * It batches socket writes the way the hub does (cork on the first send of a tick, uncork in a
 * microtask), so hub − relay is the cost of validation, auth, routing and queues, not of I/O strategy.
 * `--no-cork` turns that off (the naive relay).
 */
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 16 * 1024 * 1024 });
const subscribers = new Set<Subscriber>();
const OP_PREFIX = Buffer.from('{"op"');
const cork = !process.argv.includes('--no-cork');

class Subscriber {
  readonly ws: WebSocket;
  readonly socket: Socket;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  constructor(ws: WebSocket, socket: Socket) {
    this.ws = ws;
    this.socket = socket;
  }

  send(data: Buffer, binary: boolean): void {
    if (cork && !this.#corked) {
      this.#corked = true;
      this.socket.cork();
      queueMicrotask(this.#uncork);
    }
    this.ws.send(data, { binary });
  }
}

wss.on('connection', (ws, request) => {
  const self = new Subscriber(ws, request.socket);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data.subarray(0, OP_PREFIX.length).equals(OP_PREFIX)) {
      const op = JSON.parse(data.toString()) as { op: string; ref?: string };
      if (op.op === 'subscribe') subscribers.add(self);
      ws.send(JSON.stringify({ op: 'ack', ref: op.ref }));
      return;
    }
    for (const s of subscribers) s.send(data, isBinary);
  });
  ws.on('close', () => subscribers.delete(self));
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
