// bench/bargein/looks.ts: the content probe's looks and each pause's end, read back from the gateway's debug log.
import { describe, expect, it } from 'vitest';
import { LookLog } from '../bench/bargein/looks.js';
import { evalCallId as callIdOf } from '../bench/bargein/runCall.js';
import type { ScenarioLabel } from '../bench/bargein/labels.js';

const label = (id: string, kind: string, onset: number | null): ScenarioLabel =>
  ({ id, file: `${id}.wav`, twin8k: `8k/${id}.wav`, lang: 'zh', speechEndMs: null, durationMs: 6000, kind, variant: '1', expected: kind === 'barge_in' ? 'barge_in' : 'no_barge_in', promptFile: 'prompts/p01.wav', text: '行', conditions: ['echo'], speechOnsetMs: onset }) as ScenarioLabel;

const line = (o: Record<string, unknown>) => JSON.stringify({ level: 20, svc: 'earshot', ...o });

describe('LookLog', () => {
  const bc = label('tune/s0183', 'backchannel', 1518);
  const bi = label('tune/s0001', 'barge_in', 4128);

  it('lists each look (ms heard, verdict, transcript) and the commit time against the labelled onset', () => {
    const log = new LookLog();
    log.add(line({ callId: callIdOf(bc, '16k'), msg: 'barge-in content', heardMs: 256, text: 't īng', kind: 'content', clear: false }));
    log.add(line({ callId: callIdOf(bc, '16k'), msg: 'barge-in content', heardMs: 384, text: 'x íng', kind: 'backchannel', clear: false }));
    log.add(line({ callId: callIdOf(bi, '16k'), msg: 'barge-in content', heardMs: 256, text: 'b ù', kind: 'content', clear: true }));
    log.add(line({ callId: callIdOf(bi, '16k'), msg: 'barge-in committed', reason: 'content', t: 4400 }));
    const rows = log.rows([bc, bi], '16k');
    expect(rows).toEqual([
      'tune/s0183 backchannel/1 "行" [echo] no commit | 256:c(t īng) 384:b(x íng)',
      'tune/s0001 barge_in/1 "行" [echo] commit content@272 | 256:c!(b ù)',
    ]);
  });

  it('keeps rates apart and skips other lines, other calls and broken JSON', () => {
    const log = new LookLog();
    log.add('npm warn something');
    log.add('{"msg":"barge-in content", broken');
    log.add(line({ callId: callIdOf(bc, '16k'), msg: 'VAD frame', heardMs: 1 }));
    log.add(line({ callId: 'eval-16k-other', msg: 'barge-in content', heardMs: 256, text: 'èn', kind: 'backchannel' }));
    log.add(line({ callId: callIdOf(bc, '8k'), msg: 'barge-in committed', reason: 'unclear', t: 1200 }));
    expect(log.rows([bc, bi], '16k')).toEqual([]);
    expect(log.rows([bc, bi], '8k')).toEqual(['tune/s0183 backchannel/1 "行" [echo] commit unclear@-318 | ']);
  });
});
