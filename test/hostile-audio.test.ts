// Inbound audio far faster than real time (issue #13, item 3), on every wire: the call is ended with
// `audio_too_fast` after about its burst allowance, the gateway takes no more of it than the budget allows, and a
// normal call beside it barges in within budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { besideNormalCall } from './helpers/bystander.js';
import { startGateway } from './helpers/gateway.js';
import { openCall, summaryOf, WIRES } from './helpers/wireClients.js';

let gw: Gateway;
let url: string;
let http: string;

beforeAll(async () => {
  ({ gw, url, http } = await startGateway({ asr: { model: '' } }));
});

afterAll(async () => {
  await gw?.stop(0);
});

describe('inbound audio rate budget', () => {
  for (const wire of WIRES) {
    it(`${wire}: a flood of audio ends that call with audio_too_fast; a normal call beside it is untouched`, async () => {
      await besideNormalCall({ url, http }, `beside-flood-${wire}`, async () => {
        const c = await openCall(gw, url, wire, `flood-${wire}`);
        const summary = summaryOf(c.call);
        let done = false;
        void summary.then(() => (done = true));
        const t0 = performance.now();
        // Up to 600 s of audio as fast as the client can write it, in bursts that let the event loop breathe.
        let sent = 0;
        for (let i = 0; i < 30_000 && !done; i++) {
          if (c.buffered() < 1 << 20) {
            c.send(c.frame);
            sent++;
          }
          if (i % 50 === 49) await new Promise((r) => setImmediate(r));
        }
        const s = await Promise.race([summary, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
        const wallMs = performance.now() - t0;
        expect(s, 'the flooding call ended').not.toBeNull();
        expect(s!.reason).toBe('audio_too_fast');
        expect(sent * 20, 'the client sent far more than the budget').toBeGreaterThan(3000 + 1.5 * wallMs);
        // What the gateway took: at most the burst plus 1.5× the wall time, plus the frame that went over.
        expect(Number(s!.inboundMs)).toBeLessThanOrEqual(3000 + 1.5 * wallMs + 20);
        await Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))]);
        c.close();
      });
    }, 30_000);
  }
});
