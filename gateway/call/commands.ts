// What can be asked of a live call, whichever wire asks: the JSON messages (native WebSocket text frames, control
// API bodies) and the decoded commands every wire hands to `runCommand` (gRPC builds them from its protobuf).
import { z } from 'zod';
import { clip, MAX_ERROR_MESSAGE } from '../ops/clientText.js';

const promptId = z.string().min(1).max(128);

export const PlayMessage = z.object({
  type: z.literal('play'),
  promptId,
  /** Omitted: play the recorded prompt uploaded under promptId. */
  audio: z.string().min(1).optional().describe("base64 audio in the call's encoding and rate; omitted: the recorded prompt uploaded as promptId"),
  interruptible: z.boolean().default(true),
});
export const SayMessage = z.object({
  type: z.literal('say'),
  promptId,
  text: z.string().min(1).max(2000),
  interruptible: z.boolean().default(true),
  voice: z.string().optional(),
  slots: z.record(z.string(), z.string()).optional(),
});
export const ExpectConsentMessage = z.object({
  type: z.literal('expect_consent'),
  promptId: z.string().max(128).optional(),
  windowMs: z.number().int().min(500).max(60000).optional(),
});
export const StopPromptMessage = z.object({ type: z.literal('stop_prompt') });
export const HangupMessage = z.object({ type: z.literal('hangup') });
export const DtmfMessage = z.object({ type: z.literal('dtmf'), digit: z.string().regex(/^[0-9*#A-D]$/) });

export const CommandMessage = z.discriminatedUnion('type', [PlayMessage, SayMessage, ExpectConsentMessage, StopPromptMessage, HangupMessage, DtmfMessage]);
export type CommandMessage = z.infer<typeof CommandMessage>;
export type CommandType = CommandMessage['type'];
export const COMMAND_TYPES: readonly CommandType[] = CommandMessage.options.map((o) => o.shape.type.value);

export type SayCommand = z.infer<typeof SayMessage>;
export type ExpectConsentCommand = z.infer<typeof ExpectConsentMessage>;
/** `play` with its audio decoded: bytes in the call's encoding, or null for the recorded prompt `promptId`. */
export type PlayCommand = { type: 'play'; promptId: string; audio: Uint8Array | null; interruptible: boolean };
export type CallCommand = PlayCommand | Exclude<CommandMessage, { type: 'play' }>;

/** Why a command was not carried out. `kind` is wire-neutral; each wire maps it to its own status. */
export interface CommandError {
  code: string;
  message: string;
  kind: CommandErrorKind;
}
/**
 * invalid: the command itself is wrong · not_found: what it names does not exist · busy: a bound is reached, try
 * later · forbidden: not allowed on this call · unsupported: this gateway has no such capability · conflict: the
 * call's state does not allow it now.
 */
export type CommandErrorKind = 'invalid' | 'not_found' | 'busy' | 'forbidden' | 'unsupported' | 'conflict';

export function commandError(kind: CommandErrorKind, code: string, message: string): CommandError {
  return { kind, code, message };
}

export function isCommandType(type: string): type is CommandType {
  return (COMMAND_TYPES as readonly string[]).includes(type);
}

/**
 * A JSON command message as a command. `type` names the command when the message does not carry it (control API:
 * it is in the path).
 */
export function parseCommand(raw: unknown, type?: CommandType): CallCommand | CommandError {
  const obj = type && raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as object), type } : raw;
  const given = (obj as { type?: unknown } | null)?.type;
  if (typeof given === 'string' && !isCommandType(given)) return commandError('invalid', 'unknown_message', `unknown message type "${clip(given)}"`);
  // The command's own schema, so that its errors name its fields rather than every command's.
  const schema = typeof given === 'string' ? CommandMessage.options.find((o) => o.shape.type.value === given) : undefined;
  const m = ((schema ?? CommandMessage) as z.ZodType<CommandMessage>).safeParse(obj);
  // Validation messages can name client-chosen keys: bounded, like every text echoed to a client.
  if (!m.success) return commandError('invalid', 'invalid_message', clip(z.prettifyError(m.error), MAX_ERROR_MESSAGE));
  if (m.data.type !== 'play') return m.data;
  const audio = m.data.audio === undefined ? null : decodeBase64Audio(m.data.audio);
  if (m.data.audio !== undefined && !audio) return commandError('invalid', 'bad_base64', 'play.audio is not valid base64');
  return { type: 'play', promptId: m.data.promptId, audio, interruptible: m.data.interruptible };
}

export function isCommandError(x: CallCommand | CommandError): x is CommandError {
  return 'kind' in x;
}

/** Strict base64, or null: Node's decoder silently skips invalid characters, which would play corrupt audio. */
export function decodeBase64Audio(s: string): Buffer | null {
  if (s.length % 4 !== 0) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(s, 'base64');
  // Node's decoder skips characters outside the alphabet and stops at an early '=': either leaves fewer bytes than
  // the length promises. Cheaper than re-encoding and comparing, which cost ~2 ms per 200 KB prompt.
  return bytes.length === (s.length / 4) * 3 - pad ? bytes : null;
}
