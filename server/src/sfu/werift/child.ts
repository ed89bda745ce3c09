/**
 * The werift media process, started by {@link WeriftSfu} as `node --import tsx child.ts` with a Node
 * IPC channel and an empty environment. Every UDP socket (ingest, ICE) lives here, so media never
 * shares the hub's event loop. It answers requests in order of completion, sends notifications, and
 * exits explicitly after `sfu.close` or when the channel goes away (werift leaves timers running for
 * ~30 s after a peer connection closes; waiting for the loop to drain would keep the process alive).
 */
import { toWireError } from '../errors.ts';
import { MediaEngine } from './media/engine.ts';
import type { FromChild, ToChild } from './protocol.ts';

const ipcSend = process.send?.bind(process);
if (!ipcSend) {
  process.stderr.write('sfu child: must be spawned with an IPC channel\n');
  process.exit(2);
}

function send(message: FromChild, done?: () => void): void {
  if (!process.connected) {
    done?.();
    return;
  }
  ipcSend!(message, undefined, undefined, (error) => {
    if (error) report('ipc send', error);
    done?.();
  });
}

let reported = 0;
/** Unexpected errors go to stderr (the parent's log), at most 100 lines per process. */
function report(where: string, error: unknown): void {
  if (++reported > 100) return;
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`sfu child: ${where}: ${text}\n`);
}

const engine = new MediaEngine((event, data) => send({ kind: 'notification', event, data }));
engine.ingest.onError = (error) => report('ingest', error);

// werift leaves some promises to reject after a transport closes (a send on a closed socket, a
// cancelled timer). They must not take the media of every session down with them.
process.on('unhandledRejection', (reason) => report('unhandled rejection', reason));

let exiting = false;
function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  void engine
    .close()
    .catch((error: unknown) => report('close', error))
    .finally(() => process.exit(code));
}

process.on('message', (message: ToChild) => {
  if (message?.kind !== 'request') return;
  const { id, method, params } = message;
  engine.handle(method, params as never).then(
    (result) => {
      const response: FromChild = { kind: 'response', id, ok: true, result: result ?? null };
      if (method === 'sfu.close') send(response, () => exit(0));
      else send(response);
    },
    (error: unknown) => send({ kind: 'response', id, ok: false, error: toWireError(error) }),
  );
});

process.on('disconnect', () => exit(0));
process.on('SIGTERM', () => exit(0));
// Ctrl-C in a terminal reaches the whole process group: let the parent close us in order (or the
// IPC channel closing when it exits ends us).
process.on('SIGINT', () => undefined);

send({ kind: 'notification', event: 'sfu.ready', data: { pid: process.pid } });
