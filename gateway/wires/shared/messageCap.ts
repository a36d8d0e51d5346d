// How the WebSocket wires read what a client sends, before any of it is parsed on the event loop.
//
// - One WebSocketServer per payload cap, each handling a message per turn of the event loop (`deferEvents`, ws's
//   `allowSynchronousEvents: false`): ws otherwise emits every message a socket read delivered in one synchronous
//   loop — a flood of small messages (up to the message budget's five seconds' worth, ~1,000, before it is cut off)
//   then holds the loop for all of them while other calls' audio and timers wait.
// - A connection's cap can change while it is open (`setMessageCap`): a native connection may send only a `start`
//   (a few hundred bytes) until its call is accepted, so a multi-megabyte text message before that is refused from
//   its frame header (close 1009) instead of being buffered, UTF-8 checked, decoded and JSON-parsed (2.5 MiB: 16–43
//   ms of the event loop on the soak's host). ws reads the cap from its receiver's `_maxPayload` at every frame
//   header; it has no public setter, so this reaches into it (ws is pinned; test/hostile-events.test.ts fails if the
//   field moves, as a pre-start message over the cap would then be parsed and answered `not_started`).
import { WebSocketServer, type WebSocket } from 'ws';

export function webSocketServer(maxPayload: number, deferEvents: boolean): WebSocketServer {
  return new WebSocketServer({ noServer: true, maxPayload, allowSynchronousEvents: !deferEvents });
}

/** Sets the largest message `ws` may receive from now on; false if ws's receiver has no such field (then unchanged). */
export function setMessageCap(ws: WebSocket, bytes: number): boolean {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') return false;
  receiver._maxPayload = bytes;
  return true;
}
