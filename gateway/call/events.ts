// Every event a call emits, whichever wire carries it: the native WebSocket sends them as JSON text frames, the
// control API as Server-Sent Events, gRPC as `Event {type, t, json}`; wires without an event channel (Twilio,
// Vonage, AudioSocket) let observers (SSE, scripts, call records) see them through `call.observe`. One zod schema
// each: the TypeScript union is inferred from them, tests validate what calls really send against them, and
// docs/protocol.md documents each (a test checks that every type here is there).
import { z } from 'zod';

/** Inbound-audio ms since the call's first audio byte at which the event was decided. */
const t = z.number().describe('inbound-audio time of the decision, ms since the first audio byte');

// Strict: a field a call sends must be in its event's schema (and so in the documentation).
const event = <T extends string, S extends z.ZodRawShape>(type: T, description: string, shape: S) =>
  z.strictObject({ type: z.literal(type), t, ...shape }).describe(description);

const promptId = z.string().describe('the prompt, as named by `play`/`say` or the script');

export const ReadyEvent = event('ready', 'The call is live: its pipeline runs and it takes commands.', { callId: z.string() });

export const RejectedEvent = event('rejected', 'The call was refused at start; nothing was played.', {
  callId: z.string(),
  reason: z
    .string()
    .describe(
      'do_not_call, frequency_cap, calling_hours, missing_callee, ambiguous_callee, policy_unavailable, script_required, script_not_approved, script_changed, script_invalid, script_mismatch, missing_slots, capacity, shutting_down, …',
    ),
});

export const PromptStartedEvent = event('prompt_started', 'The first frame of a prompt left for the far end.', { promptId });

export const PromptPausedEvent = event('prompt_paused', 'Speech is likely: no more prompt audio is sent until resume or barge-in.', {
  promptId,
  playedMs: z.number(),
});

export const PromptResumedEvent = event('prompt_resumed', 'It was a backchannel, a cough or a click: the prompt goes on where it paused.', { promptId });

export const PromptFinishedEvent = event('prompt_finished', 'A prompt is done: played out, or ended early.', {
  promptId,
  interrupted: z.boolean(),
  playedMs: z.number(),
  reason: z.string().describe('completed, barge_in, stop_prompt, hangup, script, …'),
});

export const PromptHeardEvent = event(
  'prompt_heard',
  'How much of a prompt the callee really heard, from the far end’s own playback marks (wires with a far-end buffer: Twilio marks, Vonage notify).',
  {
    promptId,
    heardMs: z.number().describe('ms of the prompt the far end reported played'),
    complete: z.boolean().describe('true: it played to its end; false: it was cleared (barge-in, stop_prompt)'),
  },
);

export const SpeechStartedEvent = event('speech_started', 'The callee started speaking.', { onsetT: z.number().describe('detected onset') });

export const SpeechEndedEvent = event('speech_ended', 'The callee stopped speaking.', { startT: z.number() });

export const BargeInEvent = event('barge_in', 'The callee talked over an interruptible prompt: it is cancelled; drop any prompt audio still buffered.', {
  promptId,
  playedMs: z.number(),
  onsetT: z.number(),
});

export const TranscriptEvent = event('transcript', 'Recognised speech inside a consent window (pinyin tokens for pinyin models).', {
  text: z.string(),
  final: z.boolean(),
});

export const ConsentEvent = event('consent', 'The decision on a consent question, written to the evidence store before it is sent.', {
  decision: z.enum(['granted', 'refused', 'unclear']),
  phrase: z.string().nullable().describe('the lexicon phrase that decided'),
  transcript: z.string(),
  confidence: z.number(),
  complaint: z.boolean().describe('the callee objected to being called'),
  reason: z.string(),
  promptId: z.string().optional(),
  speechEndT: z.number().nullable(),
  evidenceId: z.string().nullable().describe('the evidence record, or null if it could not be written (then the decision is unclear)'),
});

export const ScriptNodeEvent = event('script_node', 'The approved script moved to a node and plays its prompt.', {
  node: z.string(),
  promptId,
  why: z.string().optional().describe('what moved the script there'),
});

export const ScriptEndEvent = event('script_end', 'The script reached its end; the call hangs up.', { reason: z.string() });

export const ErrorEvent = event('error', 'Something concerning this call only failed; see the code.', {
  code: z.string(),
  message: z.string(),
  grpcStatus: z.string().optional().describe('gRPC only: the status name the command error maps to'),
});

const Percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable(), max: z.number().nullable(), n: z.number() });

export const BargeInRecordSchema = z.object({
  promptId: z.string(),
  onsetT: z.number(),
  pauseT: z.number(),
  commitT: z.number(),
  stopMs: z.number().optional().describe('wall ms from the decision to the last prompt frame sent after it'),
  pauseLatencyMs: z.number(),
  commitLatencyMs: z.number(),
});

export const LatencyReportSchema = z.object({
  bargeIns: z.array(BargeInRecordSchema),
  pausesResumed: z.number(),
  inboundFrameMs: Percentiles,
  vadFrameMs: Percentiles,
  firstAudioMs: Percentiles.omit({ max: true }),
});
export type LatencyReport = z.infer<typeof LatencyReportSchema>;

export const CallSummaryEvent = event('call_summary', 'The call ended: the last event, with its latency figures.', {
  callId: z.string(),
  reason: z.string(),
  inboundMs: z.number(),
  wallMs: z.number(),
  echo: z.object({ locked: z.boolean(), delayMs: z.number().nullable() }),
  prompts: z.array(z.object({ promptId: z.string(), playedMs: z.number(), interrupted: z.boolean(), reason: z.string() })),
  ...LatencyReportSchema.shape,
});

export const CallEventSchema = z.discriminatedUnion('type', [
  ReadyEvent,
  RejectedEvent,
  PromptStartedEvent,
  PromptPausedEvent,
  PromptResumedEvent,
  PromptFinishedEvent,
  PromptHeardEvent,
  SpeechStartedEvent,
  SpeechEndedEvent,
  BargeInEvent,
  TranscriptEvent,
  ConsentEvent,
  ScriptNodeEvent,
  ScriptEndEvent,
  ErrorEvent,
  CallSummaryEvent,
]);

export type CallEvent = z.infer<typeof CallEventSchema>;
export type CallEventType = CallEvent['type'];
export type EventOf<T extends CallEventType> = Extract<CallEvent, { type: T }>;
/** An event as it is emitted: the call stamps `t` unless the emitter knows better. */
export type UntimedEvent = CallEvent extends infer E ? (E extends CallEvent ? Omit<E, 't'> & { t?: number } : never) : never;

export const CALL_EVENT_TYPES: readonly CallEventType[] = CallEventSchema.options.map((o) => o.shape.type.value);
