// The one `earshot` CLI in child processes: the installed entry point (bin/earshot.js) for help and version, then
// many command lines through the same dispatcher in one process: every command's --help from the declaration that
// parses it, usage errors that exit 2 and touch nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../gateway/models.js';

const tmp = mkdtempSync(join(tmpdir(), 'earshot-cli-'));

const env = { ...process.env, EARSHOT_DATA_DIR: join(tmp, 'data'), EARSHOT_MODELS_DIR: join(tmp, 'models') };

/** The real entry point, as installed (`earshot …`). */
function earshot(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/earshot.js'), ...args], { cwd: tmp, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Many command lines through the same dispatcher in one process (test/fixtures/cliHarness.ts): one start-up. */
function many(lines: string[][]): Map<string, { code: number; out: string; err: string }> {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(PROJECT_ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(PROJECT_ROOT, 'test/fixtures/cliHarness.ts'), JSON.stringify(lines)], { cwd: tmp, env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`cli harness failed: ${r.stderr}`);
  return new Map((JSON.parse(r.stdout) as { args: string[]; code: number; out: string; err: string }[]).map((x) => [x.args.join(' '), x]));
}

describe('earshot CLI', () => {
  it('--help lists every command and exits 0; --version prints the package version', () => {
    const h = earshot(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['evidence', 'scripts', 'models', 'bench', 'eval']) expect(h.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    const v = earshot(['--version']);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toBe(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version);
  });

  it('<command> --help exits 0 with that command’s usage, for every command and subcommand', () => {
    const cases: [string[], RegExp][] = [
      [['evidence', '--help'], /usage: earshot evidence <subcommand>[\s\S]*verify[\s\S]*show/],
      [['evidence', 'verify', '--help'], /usage: earshot evidence verify \[options\][\s\S]*--expect-head SEQ:HASH/],
      [['scripts', 'approve', '--help'], /usage: earshot scripts approve <file\.yaml> \[options\][\s\S]*--by NAME/],
      [['models', '--help'], /usage: earshot models \[<id> …\] \[options\][\s\S]*--check/],
      [['bench', '--help'], /usage: earshot bench \[options\][\s\S]*--ramp-steps A,B,C/],
      [['eval', 'consent', '--help'], /usage: earshot eval consent <folder> \[options\][\s\S]*--rate 16k\|8k/],
      [['help', 'scripts'], /usage: earshot scripts <subcommand>/],
    ];
    const got = many(cases.map(([a]) => a));
    for (const [args, want] of cases) {
      const r = got.get(args.join(' '))!;
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
      expect(r.out, args.join(' ')).toMatch(want);
    }
  });

  it('a command line that cannot run exits 2 naming the problem, before anything is created or started', () => {
    const cases: [string[], RegExp][] = [
      [[], /usage: earshot <command>/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['evidence', 'verify', '--bogus'], /unknown option --bogus/],
      [['evidence', 'verify', '--expect-head', 'nope'], /--expect-head needs <seq>:<64 hex digits>/],
      [['scripts', 'approve'], /missing file\.yaml/],
      [['scripts', 'approve', 'a.yaml', 'b.yaml'], /unexpected argument "b\.yaml"/],
      [['models', '--check', '--dir'], /--dir needs a value/],
      [['bench', '--calls', '0', '--out', join(tmp, 'bench-out')], /--calls must be a positive integer/],
      [['bench', '--rate', '44k', '--out', join(tmp, 'bench-out')], /--rate must be 16k or 8k, got "44k"/],
      [['eval', 'consent', '--concurrency', '0', '.'], /--concurrency must be a whole number ≥ 1/],
    ];
    const got = many(cases.map(([a]) => a));
    for (const [args, want] of cases) {
      const r = got.get(args.join(' '))!;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(want);
    }
    // Nothing was created: no data dir (database), no bench results, no models folder.
    for (const p of ['data', 'bench-out', 'models']) expect(existsSync(join(tmp, p)), p).toBe(false);
  });
});
