// Carries out a command on a live call, the same for every wire. Speech, consent, keypad and what may be played are
// capabilities the features provide (`CommandHandlers`); prompt audio is checked against the same limits whether it
// came inline or from the recorded-prompt library. A refusal is a `CommandError` the wire reports in its own way.
import { bytesPerSample, CodecError, decode } from '../audio/codec.js';
import type { Config } from '../config.js';
import type { Call } from './Call.js';
import { commandError, type CallCommand, type CommandError, type ExpectConsentCommand, type PlayCommand, type SayCommand } from './commands.js';

/** Commands beyond raw audio that the features fill in; a capability left out is reported as unsupported. */
export interface CommandHandlers {
  say?(call: Call, m: SayCommand): Promise<void>;
  expectConsent?(call: Call, m: Omit<ExpectConsentCommand, 'type'>): void;
  dtmf?(call: Call, digit: string): void;
  /** Why this call may not `play` audio at all (its approved script governs what it says), or null if it may. */
  playRefusal?(call: Call): { code: string; message: string } | null;
  /** A recorded prompt (uploaded once, played by id) as PCM at `sampleRate`, or undefined if there is none. */
  recordedPrompt?(promptId: string, sampleRate: number): Int16Array | undefined;
}

export interface DispatchContext {
  handlers: CommandHandlers;
  limits: Pick<Config['limits'], 'maxPromptMs' | 'maxQueuedPrompts'>;
}

/**
 * Runs `cmd` on `call`. Returns null once it is under way, or why it was refused. A `say` fails only later, while
 * synthesising: that goes to `late` (default: an `error` event on the call).
 */
export function runCommand(ctx: DispatchContext, call: Call, cmd: CallCommand, late: (e: { code: string; message: string }) => void = (e) => call.emit({ type: 'error', ...e })): CommandError | null {
  const h = ctx.handlers;
  switch (cmd.type) {
    case 'play':
      return play(ctx, call, cmd);
    case 'say': {
      if (!h.say) return commandError('unsupported', 'tts_unavailable', 'speech synthesis is not configured on this gateway');
      h.say(call, cmd).catch((e: Error & { code?: string }) => late({ code: e.code ?? 'say_failed', message: e.message }));
      return null;
    }
    case 'expect_consent': {
      if (!h.expectConsent) return commandError('unsupported', 'consent_unavailable', 'no recogniser is configured: consent cannot be decided');
      try {
        h.expectConsent(call, { promptId: cmd.promptId, windowMs: cmd.windowMs });
      } catch (e) {
        return commandError('conflict', (e as { code?: string }).code ?? 'consent_failed', (e as Error).message);
      }
      return null;
    }
    case 'dtmf':
      h.dtmf?.(call, cmd.digit);
      return null;
    case 'stop_prompt':
      call.stopPrompt();
      return null;
    case 'hangup':
      void call.end('hangup');
      return null;
  }
}

/**
 * Queues prompt audio given in the call's own encoding, or, with no bytes, the recorded prompt uploaded under
 * `promptId` (`PUT /v1/prompts/:promptId`).
 */
function play(ctx: DispatchContext, call: Call, m: PlayCommand): CommandError | null {
  const refused = ctx.handlers.playRefusal?.(call);
  if (refused) return commandError('forbidden', refused.code, refused.message);
  let pcm: Int16Array;
  if (m.audio === null) {
    const recorded = ctx.handlers.recordedPrompt?.(m.promptId, call.format.sampleRate);
    if (!recorded) return commandError('not_found', 'unknown_prompt', `no recorded prompt ${m.promptId}: upload it (PUT /v1/prompts/${m.promptId}) or send its audio`);
    if (call.playout.queued >= ctx.limits.maxQueuedPrompts) return commandError('busy', 'queue_full', 'too many prompts queued');
    pcm = recorded;
  } else {
    const ms = (m.audio.length / bytesPerSample(call.format.encoding) / call.format.sampleRate) * 1000;
    if (!m.audio.length) return commandError('invalid', 'invalid_message', 'prompt audio is empty');
    if (ms > ctx.limits.maxPromptMs) return commandError('invalid', 'prompt_too_long', `prompt of ${Math.round(ms)} ms exceeds ${ctx.limits.maxPromptMs} ms`);
    if (call.playout.queued >= ctx.limits.maxQueuedPrompts) return commandError('busy', 'queue_full', 'too many prompts queued');
    try {
      pcm = decode(call.format.encoding, m.audio);
    } catch (e) {
      return commandError('invalid', (e as CodecError).code ?? 'bad_audio', (e as Error).message);
    }
  }
  call.play({ promptId: m.promptId, pcm, interruptible: m.interruptible });
  return null;
}
