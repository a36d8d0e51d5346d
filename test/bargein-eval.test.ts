// The barge-in evaluator's label reading (JSON Schema, clear errors) and its scoring rules, on hand-made records:
// what counts as early, stuck, resumed, in time, and the criteria that follow.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conditionsOf, LabelError, loadScenarioLabels, type ScenarioLabel } from '../bench/bargein/labels.js';
import type { BargeinRecord, CallEvent } from '../bench/bargein/runCall.js';
import { byCondition, criteria, groupRow, score } from '../bench/bargein/score.js';

const base: ScenarioLabel = {
  file: 'a.wav', twin8k: '8k/a.wav', kind: 'barge_in', lang: 'zh', text: '等一下', expected: 'barge_in', speechOnsetMs: 2000, speechEndMs: 2600,
  durationMs: 6000, promptFile: 'p.wav', conditions: ['echo'],
};

function corpus(lines: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-labels-'));
  writeFileSync(join(dir, 'labels.jsonl'), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return dir;
}

/** A call record with these events (t in inbound ms; wall = t, the track starting at wall 0) and prompt frames. */
function rec(events: [string, number][], frames: [number, number][] = [], ok = true): BargeinRecord {
  return {
    ok, trackStartAt: 0,
    events: [...events.map(([type, t]): CallEvent => ({ type, t, wall: t })), { type: 'call_summary', t: 9000, wall: 9000 }],
    promptFrames: frames.map(([wall, ms]) => ({ wall, ms })),
  };
}

describe('reading labels', () => {
  it('accepts the dev corpus format and skips lines that are not scenarios', () => {
    const dir = corpus([{ file: 'p.wav', kind: 'bot_prompt' }, base, { ...base, file: 'b.wav', kind: 'echo_only', expected: 'no_barge_in', speechOnsetMs: null, speechEndMs: null, echo: { delayMs: 40, attenuationDb: 12 } }]);
    expect(loadScenarioLabels(dir).map((l) => l.file)).toEqual(['a.wav', 'b.wav']);
  });

  it('names the line, the file and the field of every problem', () => {
    const dir = corpus([base, { ...base, file: 'b.wav', expected: 'maybe' }, { ...base, file: 'c.wav', speechOnsetMs: null }, 'not json', { ...base, file: 'd.wav', speechEndMs: 1000 }]);
    try {
      loadScenarioLabels(dir);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LabelError);
      const p = (e as LabelError).problems.join('\n');
      expect(p).toMatch(/labels\.jsonl:2 \(b\.wav\): \/expected must be equal to one of the allowed values \(barge_in, no_barge_in\)/);
      expect(p).toMatch(/labels\.jsonl:3 \(c\.wav\): \/speechOnsetMs must be number/);
      expect(p).toMatch(/labels\.jsonl:4: not JSON/);
      expect(p).toMatch(/labels\.jsonl:5 \(d\.wav\): \/speechEndMs is before \/speechOnsetMs/);
      expect((e as LabelError).problems).toHaveLength(4);
    }
  });

  it('derives condition tags when a corpus has none', () => {
    expect(conditionsOf({ ...base, conditions: undefined, echo: { delayMs: 1, attenuationDb: 2 }, noise: { snrDb: 3 } })).toEqual(['echo', 'noise']);
    expect(conditionsOf({ ...base, conditions: undefined })).toEqual(['clean']);
  });
});

describe('scoring one call', () => {
  it('times pause and commit from the labelled onset', () => {
    const o = score(base, rec([['prompt_paused', 2064], ['barge_in', 2352]], [[1000, 20], [2064, 20]]));
    expect([o.pauseMs, o.commitMs, o.earlyPause, o.earlyCommit, o.stuckPause]).toEqual([64, 352, false, false, false]);
    expect(o.audioAfterPauseMs).toBe(0);
  });

  it('counts a pause or commit before the onset as early, never as fast', () => {
    const o = score(base, rec([['prompt_paused', 700], ['prompt_resumed', 900], ['prompt_paused', 1500], ['barge_in', 1800]]));
    expect(o.earlyPause).toBe(true);
    expect(o.earlyCommit).toBe(true);
    expect(o.commitMs).toBeNull();
    expect(o.pauseMs).toBeNull();
    const row = groupRow('x', [o]);
    expect([row.pauseInTime, row.commitInTime, row.earlyPauses, row.earlyCommits]).toEqual([0, 0, 1, 1]);
  });

  it('finds a pause that never came back, and audio sent while paused', () => {
    const echo: ScenarioLabel = { ...base, kind: 'echo_only', expected: 'no_barge_in', speechOnsetMs: null, speechEndMs: null };
    const o = score(echo, rec([['prompt_paused', 3000]], [[2990, 20], [3010, 20], [3030, 40]]));
    expect(o.stuckPause).toBe(true);
    expect(o.audioAfterPauseMs).toBe(60);
    const c = criteria([o]);
    expect(c.find((x) => x.name.startsWith('pause on echo'))!.pass).toBe(false);
    expect(c.find((x) => x.name.startsWith('prompt audio after'))!.pass).toBe(false);
  });

  it('lets a backchannel pause if it resumes, and times the resume from its end', () => {
    const bc: ScenarioLabel = { ...base, kind: 'backchannel', expected: 'no_barge_in', speechOnsetMs: 2000, speechEndMs: 2300 };
    const resumed = score(bc, rec([['prompt_paused', 2064], ['prompt_resumed', 2480]]));
    expect(resumed.resumeAfterEndMs).toBe(180);
    expect(criteria([resumed]).every((c) => c.pass || c.name.startsWith('pause ≤') || c.name.startsWith('commit ≤'))).toBe(true);
    const committed = score(bc, rec([['prompt_paused', 2064], ['barge_in', 2400]]));
    expect(criteria([committed]).find((c) => c.name.startsWith('commit on'))!.pass).toBe(false);
    expect(criteria([committed]).find((c) => c.name.startsWith('backchannels'))!.pass).toBe(false);
  });

  it('judges 95 % in time per group and lists each condition', () => {
    const fast = Array.from({ length: 19 }, (_, i) => score({ ...base, file: `${i}.wav` }, rec([['prompt_paused', 2100], ['barge_in', 2400]])));
    const slow = score({ ...base, file: 'slow.wav', conditions: ['echo', 'noise_tv'] }, rec([['prompt_paused', 2200], ['barge_in', 2600]]));
    expect(criteria([...fast, slow]).slice(0, 2).map((c) => c.pass)).toEqual([true, true]);
    expect(criteria([...fast, slow, slow]).slice(0, 2).map((c) => c.pass)).toEqual([false, false]);
    const rows = byCondition([...fast, slow]);
    expect(rows.map((r) => r.group)).toEqual(['all', 'echo', 'noise_tv']);
    expect(rows[2].pauseInTime).toBe(0);
  });

  it('reports a call that could not run as failed, not as a miss', () => {
    const o = score(base, rec([], [], false));
    expect(groupRow('x', [o])).toMatchObject({ n: 1, failed: 1, bargeIns: 0 });
    expect(criteria([o]).find((c) => c.name.startsWith('calls that failed'))!.pass).toBe(false);
  });
});
