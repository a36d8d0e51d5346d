// Approved scripts on calls. At `start`: a call naming `script: "id@version"` gets it only if that version was
// approved and its file still hashes to the approved content (else rejected: script_not_approved /
// script_changed), and every recorded prompt it plays is still the recording pinned at approval
// (script_prompt_missing / script_prompt_changed). During the call a ScriptRunner drives it: text prompts through
// the shared say path, recorded prompts from the library (their pin checked again), consent questions
// through gw.commands.expectConsent, branches on consent / barge-in / silence / keypad, goodbye and hangup. A node
// marked requiresConsent is never played without a `granted` decision on this very call (checked in the runner and
// again in `say`). A complaint puts the callee on the do-not-call list.
import type { Call, CallEvent } from '../call/Call.js';
import type { Gateway, Plugin } from '../Gateway.js';
import type { ScriptsConfig } from '../script/config.js';
import { scriptFixedTexts, scriptPrompts, scriptRecordings, type Script } from '../script/format.js';
import { pinnedRecording, pinRecordingsInFile, type Pin, type RecordingLookup } from '../script/pins.js';
import { ScriptRunner, type RunnerAction, type RunnerEvent } from '../script/runner.js';
import { ScriptError, ScriptStore, type LoadedScript } from '../script/ScriptStore.js';
import { renderTemplate, TemplateError } from '../speak/template.js';
import type { StartMessage } from '../call/start.js';
import type { PolicyFeature } from './policy.js';
import { slotsOf, type ApprovedPrompt, type SayGuard, type SpeechFeature } from './speech.js';

/** The recorded-prompt library, as the scripts feature uses it. */
export interface Recordings extends RecordingLookup {
  pcm(promptId: string, sampleRate: number): Int16Array | undefined;
}

interface CallState {
  loaded: LoadedScript | null;
  granted: boolean;
  runner: ScriptRunner | null;
  timer: NodeJS.Timeout | null;
  dncAdded: boolean;
}

export class ScriptsFeature implements Plugin, SayGuard {
  readonly name = 'scripts';
  store!: ScriptStore;
  private cfg!: ScriptsConfig;
  private gw!: Gateway;
  private pending = new Map<string, { loaded: LoadedScript; at: number }>();
  private states = new WeakMap<Call, CallState>();
  private warmed = new Set<string>();
  /** Resolves when the start-up warm-up of approved scripts is done. */
  warming: Promise<void> = Promise.resolve();

  constructor(
    private readonly speech: SpeechFeature,
    private readonly policy?: PolicyFeature,
    /** The library of recorded prompts (the prompts feature's, once started); none: scripts cannot `play`. */
    private readonly recordings: () => Recordings | undefined = () => undefined,
  ) {}

  private get library(): Recordings {
    return this.recordings() ?? { info: () => undefined, pcm: () => undefined };
  }

  async start(gw: Gateway): Promise<void> {
    this.gw = gw;
    this.cfg = gw.config.scripts;
    this.store = await ScriptStore.forConfig(gw.config);
    this.speech.guard = this;
    const prev = gw.commands.dtmf;
    gw.commands.dtmf = (call, digit) => {
      prev?.(call, digit);
      this.feed(call, { type: 'dtmf', digit });
    };
    if (this.cfg.warmOnStart) {
      this.warming = (async () => {
        for (const a of await this.store.list()) {
          try {
            await this.warm((await this.store.load(`${a.scriptId}@${a.version}`)).script);
          } catch (e) {
            gw.log.warn({ script: `${a.scriptId}@${a.version}`, err: (e as Error).message }, 'approved script not warmed');
          }
        }
      })();
    }
  }

  async stop(): Promise<void> {
    await this.store?.close();
  }

  /**
   * Approves a script file (immutable version): pins its recorded prompts into the file (PromptPinError for one the
   * library does not hold), records it, and renders its fixed prompt text into the cache.
   */
  async approve(file: string, approvedBy?: string): Promise<{ scriptId: string; version: string; sha256: string; created: boolean; rendered: number; pins: Pin[] }> {
    const pins = pinRecordingsInFile(file, this.library);
    const r = await this.store.approve(file, { approvedBy });
    const rendered = await this.warm(r.script);
    return { scriptId: r.approval.scriptId, version: r.approval.version, sha256: r.approval.sha256, created: r.created, rendered, pins };
  }

  /** Fixed prompt text of a script into the prompt cache at both call rates. */
  async warm(script: Script, rates: (8000 | 16000)[] = [8000, 16000]): Promise<number> {
    const engine = this.speech.registry.pick({ engine: script.voice, language: script.language });
    let n = 0;
    for (const sampleRate of rates) {
      const key = `${script.id}@${script.version}|${engine.id}|${sampleRate}`;
      if (this.warmed.has(key)) continue;
      n += await this.speech.cache.warm(scriptFixedTexts(script), engine, { language: script.language, sampleRate });
      this.warmed.add(key);
    }
    return n;
  }

  async admit(s: StartMessage, gw: Gateway): Promise<{ ok: true } | { ok: false; reason: string }> {
    for (const [id, p] of this.pending) if (Date.now() - p.at > 60_000) this.pending.delete(id);
    const reject = (reason: string, message: string) => {
      gw.log.info({ callId: s.callId, reason, message }, 'call refused: script');
      this.policy?.recordRejection(s, `rejected:${reason}`, reason);
      return { ok: false as const, reason };
    };
    if (!s.script) {
      if (this.cfg.requireScriptFor.includes(s.callType)) return reject('script_required', `${s.callType} calls must name an approved script`);
      return { ok: true };
    }
    let loaded: LoadedScript;
    try {
      loaded = await this.store.load(s.script);
    } catch (e) {
      if (e instanceof ScriptError) return reject(e.code, e.message);
      return reject('script_invalid', (e as Error).message);
    }
    const sc = loaded.script;
    if (sc.callType !== s.callType || sc.language !== s.language) {
      return reject('script_mismatch', `script ${s.script} is for ${sc.language} ${sc.callType} calls, not ${s.language} ${s.callType}`);
    }
    const slots = (s.slots ?? {}) as Record<string, unknown>;
    const missing = sc.slots.filter((n) => slots[n] === undefined || slots[n] === '');
    if (missing.length) return reject('missing_slots', `script ${s.script} needs slots: ${missing.join(', ')}`);
    for (const r of scriptRecordings(sc)) {
      const pin = pinnedRecording(this.library, { recording: r.prompt, sha256: r.sha256 });
      if (!pin.ok) return reject(pin.code, `script ${s.script}, node ${r.node}: ${pin.message}`);
    }
    this.pending.set(s.callId, { loaded, at: Date.now() });
    // Normally warm since approval/start-up; a cache wiped since then is refilled in the background.
    void this.warm(sc, [s.audio.sampleRate as 8000 | 16000]).catch((e: Error) => gw.log.warn({ err: e.message }, 'script warm-up failed'));
    return { ok: true };
  }

  callStarted(call: Call): void {
    const p = this.pending.get(call.id);
    this.pending.delete(call.id);
    const st: CallState = { loaded: p?.loaded ?? null, granted: false, runner: null, timer: null, dncAdded: false };
    this.states.set(call, st);
    call.observe((ev) => this.onEvent(call, st, ev));
    if (st.loaded) {
      st.runner = new ScriptRunner(st.loaded.script);
      this.apply(call, st, st.runner.start());
    }
  }

  // --- SayGuard ------------------------------------------------------------------------------------------------

  approvedPrompt(call: Call, text: string, slots: Record<string, string> | undefined): ApprovedPrompt | null {
    const st = this.states.get(call);
    if (!st?.loaded) return null;
    const values = { ...slotsOf(call), ...(slots ?? {}) };
    for (const p of scriptPrompts(st.loaded.script)) {
      if (p.template === text) return { node: p.node, template: p.template, slots: values, requiresConsent: p.requiresConsent };
      try {
        if (renderTemplate(p.template, values).map((s) => s.text).join('') === text) {
          return { node: p.node, template: p.template, slots: values, requiresConsent: p.requiresConsent };
        }
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
      }
    }
    return null;
  }

  consentGranted(call: Call): boolean {
    return this.states.get(call)?.granted ?? false;
  }

  scriptVoice(call: Call): string | undefined {
    return this.states.get(call)?.loaded?.script.voice;
  }

  // --- running -------------------------------------------------------------------------------------------------

  private onEvent(call: Call, st: CallState, ev: CallEvent): void {
    if (ev.type === 'consent') {
      const complaint = ev.complaint;
      // Only a clean `granted` on this call opens consent-gated prompts; any later refusal closes them again.
      st.granted = ev.decision === 'granted' && !complaint;
      if (complaint && !st.dncAdded) this.addDnc(call, st, `complaint: ${ev.phrase ?? ev.transcript}`);
      this.feed(call, { type: 'consent', decision: ev.decision, complaint, transcript: ev.transcript, phrase: ev.phrase });
    } else if (ev.type === 'prompt_finished') {
      this.feed(call, { type: 'prompt_finished', promptId: ev.promptId, interrupted: ev.interrupted });
    } else if (ev.type === 'barge_in') {
      this.feed(call, { type: 'barge_in', promptId: ev.promptId });
    } else if (ev.type === 'call_summary') {
      if (st.timer) clearTimeout(st.timer);
      st.timer = null;
    }
  }

  private addDnc(call: Call, st: CallState, reason: string): void {
    st.dncAdded = true;
    const callee = call.init.callee;
    if (!callee || !this.policy) return;
    this.policy.policy.dnc
      .add(callee, reason.slice(0, 500), 'complaint', call.id)
      .then(() => call.log.info({ callee }, 'callee added to the do-not-call list (complaint)'))
      .catch((e: Error) => call.log.error({ err: e.message }, 'cannot add callee to the do-not-call list'));
  }

  private feed(call: Call, ev: RunnerEvent): void {
    const st = this.states.get(call);
    if (!st?.runner || call.isEnded) return;
    const before = st.runner.current;
    const wasListening = st.runner.listening;
    const acts = st.runner.on(ev);
    if (acts.length || before !== st.runner.current || (wasListening && !st.runner.listening)) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = null;
    }
    this.apply(call, st, acts);
  }

  /**
   * Queues a node's recorded prompt: the approved recording, checked against its pin once more (it was at start),
   * so that nothing else can ever play. False: it is not that recording any more, and the call has been ended.
   */
  private playRecording(call: Call, a: Extract<RunnerAction, { type: 'play' }>): boolean {
    const pin = pinnedRecording(this.library, a);
    const pcm = pin.ok ? this.library.pcm(a.recording, call.format.sampleRate) : undefined;
    if (!pin.ok || !pcm) {
      call.fail(pin.ok ? 'script_prompt_missing' : pin.code, `script prompt ${a.node}: ${pin.ok ? `no audio for "${a.recording}"` : pin.message}`);
      return false;
    }
    call.play({ promptId: a.promptId, pcm, interruptible: a.interruptible, text: `[recording ${a.recording} sha256:${a.sha256}]` });
    return true;
  }

  private apply(call: Call, st: CallState, acts: RunnerAction[]): void {
    const runner = st.runner!;
    for (const a of acts) {
      if (call.isEnded) return;
      switch (a.type) {
        case 'say':
        case 'play': {
          const last = runner.trace[runner.trace.length - 1];
          call.emit({ type: 'script_node', node: a.node, promptId: a.promptId, why: last?.why });
          if (a.requiresConsent && !st.granted) {
            // The runner never gets here without consent; if it ever did, nothing is played.
            call.log.error({ node: a.node }, 'consent-gated prompt without consent: call ended');
            void call.end('consent_guard');
            return;
          }
          if (a.type === 'play') {
            if (!this.playRecording(call, a)) return;
            break;
          }
          this.speech
            .speak(call, { promptId: a.promptId, template: a.template, slots: slotsOf(call), interruptible: a.interruptible })
            .catch((e: Error & { code?: string }) => call.fail(e.code ?? 'say_failed', `script prompt ${a.node}: ${e.message}`));
          break;
        }
        case 'listen': {
          const expect = this.gw.commands.expectConsent;
          let wait = a.windowMs;
          if (expect) {
            try {
              expect(call, { promptId: a.promptId ?? undefined, windowMs: a.windowMs });
              wait += this.cfg.answerGraceMs;
            } catch (e) {
              // No recogniser on this call: the answer cannot be heard, so the window ends as "no answer".
              call.log.warn({ err: (e as Error).message }, 'script listen without consent recognition');
            }
          }
          if (st.timer) clearTimeout(st.timer);
          st.timer = setTimeout(() => {
            st.timer = null;
            this.feed(call, { type: 'timeout' });
          }, wait);
          st.timer.unref();
          break;
        }
        case 'stop_prompt':
          call.stopPrompt('script');
          break;
        case 'dnc':
          if (!st.dncAdded) this.addDnc(call, st, a.reason);
          break;
        case 'hangup':
          call.emit({ type: 'script_end', reason: a.reason });
          void call.end(a.reason);
          return;
      }
    }
  }
}
