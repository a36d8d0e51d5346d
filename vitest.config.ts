import { defineConfig } from 'vitest/config';

// Pure-logic files: no gateway, no real-time audio, no latency assertion, no model. They run two at a time, before
// everything else. A new file runs in `realtime` unless it is named unit-*.test.ts or listed here, so nothing that
// measures time is ever put beside another file by accident.
const PURE = [
  'asyncapi', 'architecture', 'bargein-eval', 'bargein-failures', 'bench-report', 'call-contract', 'call-events',
  'config-reference', 'consent-calibration', 'consent-decide', 'consent-feature', 'consent-folds', 'decode-scheduler',
  'deploy-manifests', 'eval-consent', 'evidence-anchors', 'log-privacy', 'monitor-bench', 'monitor-board',
  'policy-migration', 'policy-number', 'script-pins', 'script-runner', 'soak-stalls', 'trace-summary',
  'tts-normalize', 'tts-pinyin', 'asr-ratesplit',
].map((name) => `test/${name}.test.ts`);
const UNIT = ['test/unit-*.test.ts', ...PURE];
// Files that replace a module with vi.mock: in a process that imported the real module for an earlier file the mock
// would not reach it, and the file could no longer fail. They get a process each, after the others.
export const OWN_PROCESS = ['decode-off-process', 'espeak-off-process'].map((name) => `test/${name}.test.ts`);

const shared = { testTimeout: 120_000, hookTimeout: 600_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'unit', include: UNIT, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      {
        // The end-to-end files stream audio at real time against a gateway with inference workers: on 2 cores two
        // of them side by side would measure each other instead of earshot. One file at a time; each file runs its
        // calls concurrently. All in one process (`isolate: false`): with a process, its imports and its model loads
        // per file the suite took ~777 s, in one 608–645 s. test/helpers/sharedProcess.ts fails a file that leaves a server
        // listening for the next and closes the shared SQLite handles after each file.
        test: {
          ...shared,
          name: 'realtime',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT, ...OWN_PROCESS],
          setupFiles: ['test/helpers/sharedProcess.ts'],
          isolate: false,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      { test: { ...shared, name: 'own-process', include: OWN_PROCESS, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 2 } } },
    ],
  },
});
