// What every bench wire client must do at the end of a call, checked the same way for each wire.
import { expect } from 'vitest';
import type { GatewayEvent, WireCall } from '../../bench/wires/types.js';

/** After hangup: close the client, then exactly one onClose, which came after `call_summary`, and no error events. */
export async function expectCleanEnd(call: WireCall, closes: { summarySeen: boolean }[], events: GatewayEvent[], callId: string): Promise<void> {
  call.close();
  await new Promise((r) => setTimeout(r, 200));
  expect(closes).toHaveLength(1);
  expect(closes[0].summarySeen).toBe(true);
  expect(events.find((e) => e.type === 'call_summary')).toMatchObject({ callId, reason: 'hangup' });
  expect(events.filter((e) => e.type === 'error')).toEqual([]);
}
