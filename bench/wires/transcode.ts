// A run streams its audio in one encoding (pcm16 at 16 kHz, or μ-law at 8 kHz); a platform may carry another
// (AudioSocket and jambonz only slin/L16, Telnyx L16 big-endian). The bench wire converts at its edge, both ways,
// so the runner keeps seeing the call in the run's own encoding.
import { decode, encode, type Encoding } from '../../gateway/audio/codec.js';

/** `bytes` in `from` as `to` (the same bytes when they agree). */
export function transcode(from: Encoding, to: Encoding, bytes: Uint8Array): Uint8Array {
  return from === to ? bytes : encode(to, decode(from, bytes));
}

/** 16-bit samples with their two bytes swapped (RTP's L16 is big-endian, the gateway's pcm16 little-endian). */
export function swap16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i + 1 < bytes.byteLength; i += 2) {
    out[i] = bytes[i + 1];
    out[i + 1] = bytes[i];
  }
  return out;
}

/**
 * Prompts converted, by their base64 text: a run replays a handful of prompts, and converting one (~1 ms) on every
 * `play` would sit inside the measured first-audio time, where a real platform's application holds them ready.
 */
const prompts = new Map<string, string>();
export function promptAs(from: Encoding, to: Encoding, b64: string): string {
  if (from === to) return b64;
  const key = `${from}>${to}:${b64}`;
  let s = prompts.get(key);
  if (s === undefined) {
    s = Buffer.from(transcode(from, to, Buffer.from(b64, 'base64'))).toString('base64');
    if (prompts.size >= 32) prompts.clear();
    prompts.set(key, s);
  }
  return s;
}
