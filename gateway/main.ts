// Process entry: configuration → servers → signals. Production runs this with node directly
// (`node --import tsx gateway/main.ts`, as the Dockerfile does), not through npm or a wrapper that forwards signals.
import { createGateway } from './app.js';
import { ConfigError } from './config.js';
import type { Gateway } from './Gateway.js';
import { configureLogging, flushLogs, rootLogger } from './ops/log.js';
import { installProcessGuard } from './ops/processGuard.js';
import { ShutdownSignals } from './ops/shutdownSignals.js';
import { recordStallsFromEnv } from './ops/stallRecorder.js';
import { mainOldSpaceFloorMb } from './ops/workerHeap.js';
import { warmPrograms } from './speak/programs.js';

/** Exits once queued log lines are out, or after a short wait if stdout's reader is stalled. */
async function exit(code: number): Promise<never> {
  await flushLogs(500);
  process.exit(code);
}

let signals: ShutdownSignals | null = null;
/** Read at each event, so the configured limit applies once the configuration is loaded. */
const guard = {
  log: rootLogger,
  maxUncaughtPerMinute: 5,
  onFatal: (why: string) => (signals ? void signals.receive(why) : void exit(1)),
};
// First thing: an error while starting is judged by the same policy as one while serving.
installProcessGuard(process, guard);
// The helper that starts ffmpeg and espeak-ng, forked now while this process is small (no models, no workers): a fork
// of the loaded gateway is the stall the helper exists to avoid (speak/programs.ts).
warmPrograms();

async function main(): Promise<void> {
  let gw: Gateway;
  try {
    gw = await createGateway();
  } catch (e) {
    if (e instanceof ConfigError) {
      rootLogger.fatal(e.message);
      return void (await exit(2));
    }
    throw e;
  }
  const ops = gw.config.ops;
  configureLogging(ops);
  // Set by createGateway before the workers started (ops/heapGrowth.ts, ops/workerHeap.ts); the main thread's floor
  // comes from the command line (the Dockerfile CMD), since V8 reads it only when an isolate is created.
  const mainOldSpaceMb = mainOldSpaceFloorMb(process.execArgv);
  rootLogger.info({ heapGrowingPercent: ops.heapGrowingPercent, workerOldSpaceMb: ops.workerOldSpaceMb, mainOldSpaceMb }, 'V8 heap settings');
  if (mainOldSpaceMb === null) rootLogger.warn('the main thread has no heap floor (--initial-old-space-size): run the gateway with the Dockerfile CMD\'s flags, or expect a major collection every few seconds under load');
  const drain = (why: string, code: number) => {
    rootLogger.info({ why }, 'shutting down');
    gw.stop().then(
      () => exit(code),
      (e: Error) => {
        rootLogger.error({ err: e }, 'shutdown failed');
        return exit(1);
      },
    );
  };
  guard.maxUncaughtPerMinute = ops.maxUncaughtPerMinute;
  signals = new ShutdownSignals({
    duplicateWindowMs: ops.duplicateSignalMs,
    drain: (sig) => drain(sig, 0),
    force: (sig) => {
      rootLogger.warn({ sig }, 'second signal: exiting now');
      void exit(1);
    },
  });
  // Bench only (EARSHOT_STALL_LOG, the soak): the event loop's stalls and collections, timestamped.
  recordStallsFromEnv('main');
  const s = signals;
  process.on('SIGTERM', () => s.receive('SIGTERM'));
  process.on('SIGINT', () => s.receive('SIGINT'));
  await gw.start();
}

main().catch(async (e: Error) => {
  rootLogger.fatal({ err: e }, e.message);
  await exit(1);
});
