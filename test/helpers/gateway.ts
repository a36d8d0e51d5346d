// Starts a real gateway on a free port for a test file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../../gateway/app.js';
import type { Gateway } from '../../gateway/Gateway.js';

/** A policy clock inside every callee's calling hours (11:00 in China), for tests that start calls with a callee:
 *  on the real clock they would be refused with calling_hours for part of every day. */
export const CALLING_HOURS = 'fixed:2026-11-30T03:00:00Z';

/** Every test gateway runs on the CALLING_HOURS clock unless the test sets `policy.clock`: calls without a callee
 *  are refused at night too (policy.withoutCallee), and tests must not pass or fail by the hour they run at.
 *  `env` is the environment the gateway reads (none by default); `beforeStart` may look at its plugins first. */
export async function startGateway(
  overrides: Record<string, unknown> = {},
  opts: { env?: NodeJS.ProcessEnv; beforeStart?: (gw: Gateway) => void } = {},
): Promise<{ gw: Gateway; url: string; http: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-test-'));
  const policy = { clock: CALLING_HOURS, ...((overrides.policy as Record<string, unknown> | undefined) ?? {}) };
  // The listen warm-up (a third of a second per process) is off unless a test asks for it: test/listen-warmup.test.ts
  // covers it, and the suite starts many gateways.
  const vad = { warmUp: false, ...((overrides.vad as Record<string, unknown> | undefined) ?? {}) };
  // Likewise the call path's warm-up (four seconds per gateway): test/call-warmup.test.ts covers it.
  const ops = { warmUpCalls: 0, ...((overrides.ops as Record<string, unknown> | undefined) ?? {}) };
  const gw = await createGateway({ port: 0, host: '127.0.0.1', dataDir, ...overrides, policy, vad, ops }, opts.env ?? {});
  opts.beforeStart?.(gw);
  const { port } = await gw.start();
  return { gw, url: `ws://127.0.0.1:${port}/v1/stream`, http: `http://127.0.0.1:${port}`, dataDir };
}
