#!/usr/bin/env node
// `earshot <command>`: the operator CLI (evidence verify, scripts approve, …). The sources are TypeScript run
// through tsx, like the gateway itself.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../gateway/cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
