// What starts a call, whichever wire it arrives on: the native `start` message as it is, and every other wire's
// metadata (Twilio customParameters, Vonage headers, AudioSocket registration, gRPC config) translated into it.
import { z } from 'zod';
import { ENCODINGS, SAMPLE_RATES } from '../audio/codec.js';

/** Call ids the control API and logs can carry as they are. */
export const CALL_ID_RE = /^[\w.:@-]{1,128}$/;

export const BargeInOverrides = z
  .object({
    pauseThreshold: z.number().min(0).max(1),
    pauseMinSpeechMs: z.number().int().min(0).max(1000),
    commitMinSpeechMs: z.number().int().min(32).max(3000),
    resumeAfterSilenceMs: z.number().int().min(32).max(3000),
  })
  .partial();

export const StartMessage = z
  .object({
    type: z.literal('start'),
    callId: z.string().min(1).max(128).regex(/^[\w.:@-]+$/, 'letters, digits and . _ : @ - only'),
    language: z.enum(['zh', 'en']).default('zh'),
    callType: z.enum(['marketing', 'notification']).default('marketing'),
    audio: z.object({
      encoding: z.enum(ENCODINGS as unknown as [string, ...string[]]),
      sampleRate: z.number().refine((r) => (SAMPLE_RATES as readonly number[]).includes(r), 'sampleRate must be 8000 or 16000'),
    }),
    callee: z.string().max(32).optional().describe('E.164 number: do-not-call list, frequency caps, calling hours'),
    timeZone: z.string().optional().describe("the callee's IANA zone, when the number's country code does not say"),
    script: z.string().optional().describe('an approved script, "scriptId@version"'),
    bargeIn: BargeInOverrides.optional(),
  })
  // Other fields (slots, voice, a wire's own metadata) ride along in `call.init.extra`.
  .passthrough();
export type StartMessage = z.infer<typeof StartMessage>;
