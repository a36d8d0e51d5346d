// What one scenario on one call produced, kept raw (wall times and events) so that every metric is computed
// afterwards by pure functions in metrics.ts.
import type { GatewayEvent } from './wires/types.js';

export interface TimedEvent extends GatewayEvent {
  wall: number; // performance.now() at arrival, ms
}

export interface CallRecord {
  scenarioId: string;
  kind: 'bargein' | 'consent';
  labelKind: string;
  expected: string | null;
  onsetMs: number | null;
  endMs: number | null;
  hasEcho: boolean;
  startedAt: number;
  ok: boolean;
  error?: string;
  playSentAt: number | null;
  /** When the caller track's frame 0 left: the first prompt frame's arrival (barge-in), else right after start. */
  trackStartAt: number | null;
  /** The gateway answered `expect_consent` with `error consent_unavailable` (no consent decision possible). */
  consentUnavailable?: boolean;
  /** Wall time each caller frame went out (index = frame number; scenario audio, then tail silence). */
  frameSentAt: number[];
  /**
   * Where the far end holds caller frames to send them in chunks (Exotel: 100 ms): the wall time each frame left it
   * for the gateway, i.e. reached the gateway. Absent for wires that send every frame as it comes.
   */
  frameLeftAt?: number[];
  promptFrames: number[]; // arrival wall times of outbound audio frames
  events: TimedEvent[];
  audioMsSent: number;
}
