// Process entry: configuration → servers → signals.
import { createGateway } from './app.js';
import { ConfigError } from './config.js';
import { rootLogger } from './ops/log.js';

async function main(): Promise<void> {
  let gw;
  try {
    gw = await createGateway();
  } catch (e) {
    if (e instanceof ConfigError) {
      rootLogger.fatal(e.message);
      process.exit(2);
    }
    throw e;
  }
  await gw.start();
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) {
      rootLogger.warn({ sig }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    rootLogger.info({ sig }, 'shutting down');
    gw.stop().then(
      () => process.exit(0),
      (e: Error) => {
        rootLogger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

process.on('unhandledRejection', (e) => rootLogger.error({ err: e }, 'unhandled rejection'));
main().catch((e: Error) => {
  rootLogger.fatal({ err: e }, e.message);
  process.exit(1);
});
