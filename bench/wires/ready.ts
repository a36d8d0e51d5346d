// What the in-band wires (native ws, gRPC) share: events arrive as the native protocol's JSON, and `start()`
// waits for `ready` (or fails on `rejected` / `error` / the transport closing / a timeout).
import type { GatewayEvent } from './types.js';

export const START_TIMEOUT_MS = 15_000;

/** Parses one event; a malformed one is reported as `bench_bad_json` rather than thrown. */
export function parseEvent(json: string): GatewayEvent {
  try {
    return JSON.parse(json) as GatewayEvent;
  } catch {
    return { type: 'bench_bad_json', raw: json.slice(0, 200) };
  }
}

export class ReadyGate {
  private waiting: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;

  /** Calls `send` (the start request) and resolves when the gateway says `ready`. */
  wait(send: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      this.waiting = { resolve, reject, timer };
      send();
    });
  }

  /** Every event passes here before the handlers see it. */
  see(ev: GatewayEvent): void {
    if (!this.waiting) return;
    if (ev.type === 'ready') this.settle()?.resolve();
    else if (ev.type === 'rejected' || ev.type === 'error') {
      this.settle()?.reject(new Error(`${ev.type}: ${String(ev.reason ?? ev.code ?? '')} ${String(ev.message ?? '')}`.trim()));
    }
  }

  fail(e: Error): void {
    this.settle()?.reject(e);
  }

  private settle() {
    const w = this.waiting;
    if (w) clearTimeout(w.timer);
    this.waiting = null;
    return w;
  }
}
