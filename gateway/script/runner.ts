// Drives one call through an approved script. Pure: events in, actions out, no timers or I/O, so every path
// (consent, refusal, complaint, barge-in, silence, keypad) is unit-testable. The plugin in
// gateway/features/scripts.ts turns actions into prompts, expectConsent calls, DNC entries and a hangup.
import { HANGUP, type Script, type ScriptNode } from './format.js';

export type RunnerAction =
  | { type: 'say'; node: string; promptId: string; template: string; interruptible: boolean; requiresConsent: boolean }
  /** A recorded prompt: `recording` in the library, `sha256` its pin from approval (undefined: never approved). */
  | { type: 'play'; node: string; promptId: string; recording: string; sha256: string | undefined; interruptible: boolean; requiresConsent: boolean }
  | { type: 'listen'; node: string; promptId: string | null; windowMs: number }
  | { type: 'stop_prompt' }
  | { type: 'dnc'; reason: string }
  | { type: 'hangup'; reason: string };

export type RunnerEvent =
  | { type: 'prompt_finished'; promptId: string; interrupted: boolean }
  | { type: 'barge_in'; promptId: string }
  | { type: 'consent'; decision: 'granted' | 'refused' | 'unclear'; complaint?: boolean; transcript?: string; phrase?: string | null }
  | { type: 'timeout' }
  | { type: 'dtmf'; digit: string };

export interface RunnerTrace {
  node: string;
  why: string;
}

export class ScriptRunner {
  private node: string | null = null;
  private promptId: string | null = null;
  private phase: 'idle' | 'prompt' | 'answer' | 'done' = 'idle';
  private seq = 0;
  private rounds = 0;
  private granted = false;
  readonly trace: RunnerTrace[] = [];

  constructor(readonly script: Script) {}

  get current(): string | null {
    return this.node;
  }
  get consentGranted(): boolean {
    return this.granted;
  }
  get done(): boolean {
    return this.phase === 'done';
  }
  /** The prompt now playing or being answered (for matching events). */
  get currentPromptId(): string | null {
    return this.promptId;
  }
  get listening(): boolean {
    return this.phase === 'answer';
  }

  start(): RunnerAction[] {
    return this.enter(this.script.start, 'start');
  }

  on(ev: RunnerEvent): RunnerAction[] {
    if (this.phase === 'done' || this.node === null) return [];
    const n = this.cur();
    switch (ev.type) {
      case 'barge_in': {
        if (this.phase !== 'prompt' || ev.promptId !== this.promptId) return [];
        if (n.on.barge_in) return this.enter(n.on.barge_in, 'barge_in');
        // A listen node's question interrupted: the callee is answering; listen now.
        if (n.listen) return this.listen(n);
        return []; // the interrupted prompt's prompt_finished moves on
      }
      case 'prompt_finished': {
        if (this.phase !== 'prompt' || ev.promptId !== this.promptId) return [];
        if (n.listen) return this.listen(n);
        return this.enter(n.next ?? HANGUP, ev.interrupted ? 'prompt interrupted' : 'prompt finished');
      }
      case 'consent': {
        const acts: RunnerAction[] = [];
        if (ev.complaint) acts.push({ type: 'dnc', reason: `complaint: ${ev.phrase ?? ev.transcript ?? ''}`.trim() });
        // Decisions count only as the answer to this node's question.
        if (!n.listen || (this.phase !== 'answer' && this.phase !== 'prompt')) {
          if (ev.complaint) acts.push(...this.enter(this.script.noConsent, 'complaint'));
          return acts;
        }
        if (this.phase === 'prompt') acts.unshift({ type: 'stop_prompt' });
        if (ev.decision === 'granted' && !ev.complaint) {
          this.granted = true;
          return [...acts, ...this.enter(n.on.granted!, 'granted')];
        }
        if (ev.decision === 'refused' || ev.complaint) return [...acts, ...this.enter(n.on.refused!, ev.complaint ? 'complaint' : 'refused')];
        const silent = !ev.transcript || ev.transcript.trim() === '';
        const to = (silent ? n.on.timeout : undefined) ?? n.on.unclear ?? n.on.timeout ?? this.script.exhausted;
        return [...acts, ...this.enter(to, silent ? 'no answer' : 'unclear')];
      }
      case 'timeout': {
        if (this.phase !== 'answer') return [];
        return this.enter(n.on.timeout ?? n.on.unclear ?? this.script.exhausted, 'timeout');
      }
      case 'dtmf': {
        const to = n.on.dtmf?.[ev.digit];
        if (!to) return [];
        const acts: RunnerAction[] = this.phase === 'prompt' ? [{ type: 'stop_prompt' }] : [];
        return [...acts, ...this.enter(to, `dtmf ${ev.digit}`)];
      }
    }
  }

  private cur(): ScriptNode {
    return this.script.nodes[this.node!]!;
  }

  private listen(n: ScriptNode): RunnerAction[] {
    this.phase = 'answer';
    return [{ type: 'listen', node: this.node!, promptId: this.promptId, windowMs: n.listen!.windowMs }];
  }

  private enter(id: string, why: string, depth = 0): RunnerAction[] {
    if (depth > 64) return this.finish('script_loop');
    if (id === HANGUP) return this.finish('script_end');
    const n = this.script.nodes[id];
    if (!n) return this.finish('script_error');
    if (n.requiresConsent && !this.granted) {
      this.trace.push({ node: id, why: `${why}; blocked: no consent on this call` });
      return this.enter(this.script.noConsent, 'consent required', depth + 1);
    }
    if (n.listen) {
      this.rounds++;
      if (this.rounds > this.script.maxRounds) {
        this.trace.push({ node: id, why: `${why}; rounds exhausted` });
        return this.enter(this.script.exhausted, 'rounds exhausted', depth + 1);
      }
    }
    this.node = id;
    this.trace.push({ node: id, why });
    if (n.say || n.play) {
      this.promptId = `${id}.${++this.seq}`;
      this.phase = 'prompt';
      const common = { node: id, promptId: this.promptId, interruptible: n.interruptible, requiresConsent: n.requiresConsent };
      if (n.play) return [{ type: 'play', ...common, recording: n.play.prompt, sha256: n.play.sha256 }];
      return [{ type: 'say', ...common, template: n.say! }];
    }
    this.promptId = null;
    if (n.listen) return this.listen(n);
    return this.enter(n.next ?? HANGUP, why, depth + 1);
  }

  private finish(reason: string): RunnerAction[] {
    this.phase = 'done';
    this.promptId = null;
    return [{ type: 'hangup', reason }];
  }
}
