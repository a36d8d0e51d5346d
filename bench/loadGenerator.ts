// N call slots, each looping scenarios back to back until the step's duration is up, so N calls are in flight
// at any moment. Slot starts are spread out so the step does not begin with N simultaneous handshakes.
import { performance } from 'node:perf_hooks';
import { Pacer } from './pacer.js';
import { runCall } from './callRunner.js';
import type { CallRecord } from './record.js';
import type { Scenario, WireAudio } from './scenarios.js';
import type { Wire } from './wires/types.js';

export interface StepParams {
  calls: number;
  durationMs: number;
  staggerMs: number;
  wire: Wire;
  url: string;
  token: string | null;
  audio: WireAudio;
  /** Scenario lists per kind; slots alternate kinds so the mix does not follow corpus sizes. */
  byKind: Scenario[][];
  sendPrompts: boolean;
  label: string;
  onProgress?: (p: { active: number; done: number; failed: number; elapsedMs: number }) => void;
}

export interface StepOutcome {
  records: CallRecord[];
  generatorLatenessMs: number[];
  startedAt: number;
  endedAt: number;
}

export async function runStep(p: StepParams): Promise<StepOutcome> {
  const pacer = new Pacer();
  const records: CallRecord[] = [];
  const startedAt = performance.now();
  const deadline = startedAt + p.durationMs;
  let active = 0;
  let failed = 0;
  const progressTimer = setInterval(
    () => p.onProgress?.({ active, done: records.length, failed, elapsedMs: performance.now() - startedAt }),
    500,
  );
  const slot = async (i: number) => {
    await new Promise((r) => setTimeout(r, (p.staggerMs * i) / Math.max(1, p.calls)));
    for (let j = 0; performance.now() < deadline; j++) {
      const list = p.byKind[(i + j) % p.byKind.length];
      const scenario = list[(i * 7 + Math.floor(j / p.byKind.length)) % list.length];
      active++;
      const rec = await runCall({
        wire: p.wire, url: p.url, token: p.token, scenario, audio: p.audio, pacer, sendPrompts: p.sendPrompts,
        callId: `bench-${p.label}-${i}-${j}`,
      });
      active--;
      records.push(rec);
      if (!rec.ok) {
        failed++;
        // A refused connection must not turn into a tight reconnect loop.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  await Promise.all(Array.from({ length: p.calls }, (_, i) => slot(i)));
  clearInterval(progressTimer);
  pacer.stop();
  return { records, generatorLatenessMs: pacer.lateness, startedAt, endedAt: performance.now() };
}
