#!/usr/bin/env node
// `earshot <command>`: the operator CLI (gateway/cli.ts: evidence, scripts, models, bench, eval; --help,
// --version). The sources are TypeScript run through tsx, like the gateway itself.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../gateway/cli.ts');
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// A command may leave timers or workers behind (bench generators, an in-process gateway's threads): once its
// output has had a moment to drain, the exit code is final.
setTimeout(() => process.exit(code), 200).unref();
