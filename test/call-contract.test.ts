// The wire-neutral call contract without a gateway: commands parsed the same for every JSON wire, dispatch with
// wire-neutral error kinds, the start checks, and the registry of live calls and refusals.
import { describe, expect, it, vi } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import { refuseStart, type AdmissionContext } from '../gateway/call/admission.js';
import type { Call } from '../gateway/call/Call.js';
import { CallRegistry } from '../gateway/call/CallRegistry.js';
import { COMMAND_TYPES, isCommandError, parseCommand, type CallCommand } from '../gateway/call/commands.js';
import { runCommand, type CommandHandlers } from '../gateway/call/dispatch.js';

/** What dispatch touches of a call. */
function fakeCall(id = 'c1', queued = 0) {
  const played: { promptId: string; samples: number }[] = [];
  const events: unknown[] = [];
  const call = {
    id,
    format: { encoding: 'pcm16', sampleRate: 16000 },
    playout: { queued },
    play: (p: { promptId: string; pcm: Int16Array }) => played.push({ promptId: p.promptId, samples: p.pcm.length }),
    stopPrompt: vi.fn(),
    end: vi.fn(async () => undefined),
    emit: (e: unknown) => events.push(e),
  };
  return { call: call as unknown as Call, played, events, raw: call };
}

const limits = { maxPromptMs: 1000, maxQueuedPrompts: 2 };
const b64 = (ms: number) => Buffer.from(encode('pcm16', new Int16Array(16 * ms))).toString('base64');
const cmd = (raw: unknown, type?: (typeof COMMAND_TYPES)[number]) => {
  const c = parseCommand(raw, type);
  if (isCommandError(c)) throw new Error(c.message);
  return c as CallCommand;
};

describe('commands', () => {
  it('parses every command of the protocol, the type from the message or from the control API path', () => {
    expect(COMMAND_TYPES).toEqual(['play', 'say', 'expect_consent', 'stop_prompt', 'hangup', 'dtmf']);
    expect(cmd({ type: 'say', promptId: 'p', text: '你好' })).toEqual({ type: 'say', promptId: 'p', text: '你好', interruptible: true });
    expect(cmd({ digit: '5' }, 'dtmf')).toEqual({ type: 'dtmf', digit: '5' });
    expect(cmd({ promptId: 'p', audio: b64(20) }, 'play')).toMatchObject({ type: 'play', promptId: 'p', interruptible: true });
    expect((cmd({ promptId: 'lib' }, 'play') as { audio: unknown }).audio).toBeNull();
  });

  it('refuses what is not a command with a wire-neutral kind and code', () => {
    expect(parseCommand({ type: 'dance' })).toMatchObject({ kind: 'invalid', code: 'unknown_message' });
    expect(parseCommand({ type: 'say', promptId: 'p' })).toMatchObject({ kind: 'invalid', code: 'invalid_message', message: expect.stringMatching(/text/) });
    expect(parseCommand({ promptId: 'p', audio: 'not base64!' }, 'play')).toMatchObject({ kind: 'invalid', code: 'bad_base64' });
    expect(parseCommand(null, 'hangup')).toMatchObject({ kind: 'invalid', code: 'invalid_message' });
  });
});

describe('dispatch', () => {
  it('plays inline audio, and refuses by kind: too long, queue full, recorded prompt missing, not allowed on the call', () => {
    const { call, played } = fakeCall();
    const ctx = { handlers: {}, limits };
    expect(runCommand(ctx, call, cmd({ promptId: 'a', audio: b64(100) }, 'play'))).toBeNull();
    expect(played).toEqual([{ promptId: 'a', samples: 1600 }]);
    expect(runCommand(ctx, call, cmd({ promptId: 'b', audio: b64(2000) }, 'play'))).toMatchObject({ kind: 'invalid', code: 'prompt_too_long' });
    expect(runCommand(ctx, fakeCall('c2', 2).call, cmd({ promptId: 'c', audio: b64(100) }, 'play'))).toMatchObject({ kind: 'busy', code: 'queue_full' });
    expect(runCommand(ctx, call, cmd({ promptId: 'lib' }, 'play'))).toMatchObject({ kind: 'not_found', code: 'unknown_prompt' });
    const refusing: CommandHandlers = { playRefusal: () => ({ code: 'unapproved_audio', message: 'no' }) };
    expect(runCommand({ handlers: refusing, limits }, call, cmd({ promptId: 'a', audio: b64(100) }, 'play'))).toMatchObject({ kind: 'forbidden', code: 'unapproved_audio' });
    expect(played).toHaveLength(1);
  });

  it('a recorded prompt plays from the library the features provide', () => {
    const { call, played } = fakeCall();
    const handlers: CommandHandlers = { recordedPrompt: (id, rate) => (id === 'lib' && rate === 16000 ? new Int16Array(320) : undefined) };
    expect(runCommand({ handlers, limits }, call, cmd({ promptId: 'lib' }, 'play'))).toBeNull();
    expect(played).toEqual([{ promptId: 'lib', samples: 320 }]);
  });

  it('a capability no feature provides is unsupported; one that refuses now is a conflict; say fails late through its callback', async () => {
    const { call, events } = fakeCall();
    expect(runCommand({ handlers: {}, limits }, call, cmd({ promptId: 'p', text: 't' }, 'say'))).toMatchObject({ kind: 'unsupported', code: 'tts_unavailable' });
    expect(runCommand({ handlers: {}, limits }, call, cmd({}, 'expect_consent'))).toMatchObject({ kind: 'unsupported', code: 'consent_unavailable' });
    const busy: CommandHandlers = {
      expectConsent: () => {
        throw Object.assign(new Error('already listening'), { code: 'consent_busy' });
      },
      say: async () => {
        throw Object.assign(new Error('synthesis failed'), { code: 'tts_failed' });
      },
    };
    expect(runCommand({ handlers: busy, limits }, call, cmd({}, 'expect_consent'))).toMatchObject({ kind: 'conflict', code: 'consent_busy' });
    const late = vi.fn();
    expect(runCommand({ handlers: busy, limits }, call, cmd({ promptId: 'p', text: 't' }, 'say'), late)).toBeNull();
    await vi.waitFor(() => expect(late).toHaveBeenCalledWith({ code: 'tts_failed', message: 'synthesis failed' }));
    // Without a callback the call itself reports it.
    runCommand({ handlers: busy, limits }, call, cmd({ promptId: 'p', text: 't' }, 'say'));
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'error', code: 'tts_failed', message: 'synthesis failed' }));
  });

  it('stop_prompt, hangup and dtmf reach the call and the keypad handler', () => {
    const { call, raw } = fakeCall();
    const dtmf = vi.fn();
    expect(runCommand({ handlers: { dtmf }, limits }, call, cmd({}, 'stop_prompt'))).toBeNull();
    expect(runCommand({ handlers: { dtmf }, limits }, call, cmd({ digit: '#' }, 'dtmf'))).toBeNull();
    expect(runCommand({ handlers: { dtmf }, limits }, call, cmd({}, 'hangup'))).toBeNull();
    expect(raw.stopPrompt).toHaveBeenCalledTimes(1);
    expect(dtmf).toHaveBeenCalledWith(call, '#');
    expect(raw.end).toHaveBeenCalledWith('hangup');
  });
});

describe('admission and the registry of live calls', () => {
  const ctx = (calls: CallRegistry, o: { draining?: boolean; maxCalls?: number } = {}) =>
    ({ calls, isDraining: o.draining ?? false, config: { limits: { maxCalls: o.maxCalls ?? 10 } } }) as unknown as AdmissionContext;

  it('refuses a duplicate, a full gateway and a draining one; announces all but the duplicate to whoever awaits the id', () => {
    const calls = new CallRegistry();
    const a = fakeCall('a').call;
    calls.register(a);
    const seen: unknown[] = [];
    calls.awaitCall('a', 1000, (x) => seen.push(x));
    expect(refuseStart(ctx(calls), 'a')).toMatchObject({ code: 'duplicate_call' });
    expect(calls.recentRefusal('a')).toBeUndefined();
    expect(refuseStart(ctx(calls, { maxCalls: 1 }), 'b')).toMatchObject({ code: 'capacity' });
    expect(calls.recentRefusal('b')).toBe('capacity');
    expect(refuseStart(ctx(calls, { draining: true }), 'c')).toMatchObject({ code: 'shutting_down' });
    expect(refuseStart(ctx(calls), 'd')).toBeNull();
    expect(seen).toEqual([]);
  });

  it('an awaited id learns that its call started, before the started hooks run, or that it was refused, or times out', async () => {
    const calls = new CallRegistry();
    const order: string[] = [];
    calls.onStarted((c) => order.push(`hook ${c.id}`));
    calls.awaitCall('x', 1000, (r) => order.push('call' in r ? `arrived ${r.call.id}` : 'other'));
    calls.register(fakeCall('x').call);
    expect(order).toEqual(['arrived x', 'hook x']);
    const refused = new Promise((r) => calls.awaitCall('y', 1000, r));
    calls.announceRejected('y', 'do_not_call');
    expect(await refused).toEqual({ rejected: 'do_not_call' });
    expect(await new Promise((r) => calls.awaitCall('z', 20, r))).toEqual({ timeout: true });
  });

  it('an ended call frees its id only if it still holds it', () => {
    const calls = new CallRegistry();
    const first = fakeCall('same').call;
    const second = fakeCall('same').call;
    calls.register(first);
    calls.register(second);
    calls.unregister(first);
    expect(calls.get('same')).toBe(second);
    calls.unregister(second);
    expect(calls.has('same')).toBe(false);
  });
});
