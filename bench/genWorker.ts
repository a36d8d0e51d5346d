// A forked generator process (see loadGenerator.ts): loads the same scenarios as the parent, runs the call slots
// it is given with its own pacer and event loop, reports progress every 500 ms and sends its records back.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { lagStats, runSlots, LOOP_RESOLUTION_MS, type WorkerSetup } from './loadGenerator.js';
import { loadScenarios, shuffled, wireAudioFor, type Scenario, type ScenarioKind } from './scenarios.js';
import { getWire } from './wires/index.js';

let byKind: Scenario[][] = [];

process.on('message', async (m: { type: string; [k: string]: any }) => {
  if (m.type === 'load') {
    const s: WorkerSetup = m.setup;
    const audio = wireAudioFor(s.rate);
    const all = loadScenarios(s.scenariosDir, s.mix, audio, s.consentPrompt, s.prompts);
    byKind = (m.kinds as ScenarioKind[]).map((k) => shuffled(all.filter((x) => x.kind === k), s.seed)).filter((l) => l.length > 0);
    process.send!({ type: 'ready' });
    return;
  }
  if (m.type !== 'run') return;
  const s: WorkerSetup = m.setup;
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const progress = { active: 0, done: 0, failed: 0 };
  const timer = setInterval(() => process.send!({ type: 'progress', ...progress }), 500);
  const stepStart = performance.now();
  const out = await runSlots({
    calls: m.calls, durationMs: m.durationMs, staggerMs: m.staggerMs, wire: getWire(s.wire), url: m.url, token: m.token,
    audio: wireAudioFor(s.rate), byKind, sendPrompts: m.sendPrompts, label: m.label, slots: m.slots,
    deadline: stepStart + m.durationMs, stepStart,
  }, progress);
  clearInterval(timer);
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  process.send!({ type: 'result', records: out.records, lateness: out.lateness, lag: lagStats(loop), cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
});
