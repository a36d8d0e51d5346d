// What the call runner needs from a wire. Each wire (native ws, Twilio Media Streams, AudioSocket, gRPC) is one
// adapter file that maps these calls to its own messages and its messages back to GatewayEvent, so the runner
// and the metrics never know which wire carried the call.
import type { Encoding } from '../../gateway/audio/codec.js';

export interface StartParams {
  callId: string;
  language: 'zh' | 'en';
  callType: 'marketing' | 'notification';
  audio: { encoding: Encoding; sampleRate: 8000 | 16000 };
  callee: string;
}

/** A server event in the native protocol's shape: `type`, `t` (inbound-audio ms) and the rest of its fields. */
export interface GatewayEvent {
  type: string;
  t?: number;
  [k: string]: unknown;
}

export interface WireHandlers {
  onEvent(ev: GatewayEvent, wallMs: number): void;
  /** One outbound (prompt) audio frame in the call's encoding. */
  onAudio(frame: Uint8Array, wallMs: number): void;
  onClose(reason: string): void;
  /** The far end sent `frames` caller frames it had been holding (a platform that sends the caller in chunks). */
  onCallerLeft?(frames: number, wallMs: number): void;
}

export interface WireCall {
  /** Resolves on `ready`; rejects with the reason on `rejected`, error or timeout. */
  start(p: StartParams): Promise<void>;
  sendAudio(frame: Uint8Array): void;
  /** `audioBase64` null: play the recorded prompt the gateway holds under `promptId`. */
  play(promptId: string, audioBase64: string | null, interruptible: boolean): void;
  /**
   * Opens the consent window. Wires that send it over the control API return the request, which a caller whose answer
   * starts at once can await so that the window is open before the answer's first audio arrives.
   */
  expectConsent(promptId: string): Promise<unknown> | void;
  hangup(): void;
  close(): void;
  /** Bytes queued in the client socket: a growing number means the generator or the server cannot keep up. */
  bufferedBytes(): number;
}

export interface Wire {
  name: string;
  connect(url: string, handlers: WireHandlers, token: string | null): Promise<WireCall>;
}
