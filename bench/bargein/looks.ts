// What the content probe heard, per scenario: reads the gateway's debug log of a real-time eval run with content
// decisions on, and prints each scenario's looks (ms heard after the onset: verdict and transcript) next to its label
// and how its pause ended. The evidence behind the interruption lexicon's entries (README "Content decisions, what the
// recogniser hears"); users can read their own recordings the same way.
//
// Usage: EARSHOT_LOG_LEVEL=debug EARSHOT_CONFIG=<bargeIn.content.enabled: true> \
//          npm run eval:bargein -- DIR --rate both > run.jsonl
//        npx tsx bench/bargein/looks.ts run.jsonl DIR [--split tune|test] [--kind backchannel,…]
//   verdicts: b = backchannel, c = content (c! clear), n = nothing heard; "commit content@312" is the commit's reason
//   and its inbound time after the labelled onset (negative: before the callee spoke).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadScenarioLabels, type ScenarioLabel } from './labels.js';
import { evalCallId } from './runCall.js';

interface LogLine {
  callId?: string;
  msg?: string;
  heardMs?: number;
  text?: string;
  kind?: string;
  clear?: boolean;
  reason?: string;
  t?: number;
}

/** The probe's looks and the commit of each call, from the gateway's pino lines. */
export class LookLog {
  private readonly byCall = new Map<string, LogLine[]>();

  /** One line of the log; anything that is not a look or a commit is skipped. */
  add(line: string): void {
    if (!line.startsWith('{') || !line.includes('barge-in co')) return;
    let j: LogLine;
    try {
      j = JSON.parse(line) as LogLine;
    } catch {
      return;
    }
    if (!j.callId || (j.msg !== 'barge-in content' && j.msg !== 'barge-in committed')) return;
    const list = this.byCall.get(j.callId) ?? [];
    list.push(j);
    this.byCall.set(j.callId, list);
  }

  /** One line per scenario that had a look or a commit at `rate`. */
  rows(labels: ScenarioLabel[], rate: '16k' | '8k'): string[] {
    const rows: string[] = [];
    for (const l of labels) {
      const evs = this.byCall.get(evalCallId(l, rate));
      if (!evs) continue;
      const onset = l.speechOnsetMs ?? 0;
      const commit = evs.find((e) => e.msg === 'barge-in committed');
      const looks = evs
        .filter((e) => e.msg === 'barge-in content')
        .map((e) => `${e.heardMs}:${(e.kind ?? '?')[0]}${e.clear ? '!' : ''}${e.text ? `(${e.text})` : ''}`);
      const ended = commit ? `commit ${commit.reason}@${Math.round((commit.t ?? 0) - onset)}` : 'no commit';
      rows.push(`${l.id ?? l.file} ${l.kind}/${String(l.variant ?? '')} "${l.text ?? ''}" [${(l.conditions ?? []).join(',')}] ${ended} | ${looks.join(' ')}`);
    }
    return rows;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  const [logFile, folder] = argv;
  if (!logFile || !folder) throw new Error('usage: looks.ts LOG.jsonl CORPUS_DIR [--split tune|test] [--kind k1,k2]');
  let split: string | null = null;
  let kinds: string[] | null = null;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--split') split = argv[++i];
    else if (argv[i] === '--kind') kinds = argv[++i].split(',');
    else throw new Error(`unknown option ${argv[i]}`);
  }
  const labels = loadScenarioLabels(folder).filter((l) => (!split || l.split === split) && (!kinds || kinds.includes(l.kind)));
  const log = new LookLog();
  for await (const line of createInterface({ input: createReadStream(logFile) })) log.add(line);
  for (const rate of ['16k', '8k'] as const) {
    const rows = log.rows(labels, rate);
    if (rows.length) process.stdout.write(`\n== ${rate} (${rows.length} scenarios with a look or a commit)\n${rows.join('\n')}\n`);
  }
}

// Only when run as a script: the test imports LookLog.
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: Error) => {
    process.stderr.write(`looks: ${e.message}\n`);
    process.exit(2);
  });
}
