// G.711 and linear PCM, the three encodings a telephony peer may negotiate.
// The G.711 tables come from `alawmulaw` (a small, well-tested package) rather than being re-derived here.
import alawmulaw from 'alawmulaw';

const { alaw, mulaw } = alawmulaw as unknown as typeof import('alawmulaw');

// Every 8 kHz call decodes 50 frames a second and every prompt frame sent to one is encoded: the package's
// per-sample functions cost ~5 µs per 20 ms frame on the event loop. Its answers for all 256 codes (and, lazily,
// all 65 536 samples) are tabulated once, so a frame is a table lookup per sample with bit-identical results.
const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);
const DECODE = { mulaw: mulaw.decode(ALL_CODES), alaw: alaw.decode(ALL_CODES) };
const ENCODE: { mulaw?: Uint8Array; alaw?: Uint8Array } = {};
function encodeTable(encoding: 'mulaw' | 'alaw'): Uint8Array {
  return (ENCODE[encoding] ??= (encoding === 'mulaw' ? mulaw : alaw).encode(Int16Array.from({ length: 65536 }, (_, i) => i - 32768)));
}

export type Encoding = 'pcm16' | 'mulaw' | 'alaw';
export const ENCODINGS: readonly Encoding[] = ['pcm16', 'mulaw', 'alaw'];
export const SAMPLE_RATES = [8000, 16000] as const;
export type SampleRate = (typeof SAMPLE_RATES)[number];

export interface AudioFormat {
  encoding: Encoding;
  sampleRate: number;
}

export function bytesPerSample(encoding: Encoding): number {
  return encoding === 'pcm16' ? 2 : 1;
}

export function bytesForMs(format: AudioFormat, ms: number): number {
  return Math.round((format.sampleRate * ms) / 1000) * bytesPerSample(format.encoding);
}

export class CodecError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** pcm16 on the wire is little-endian; on such hosts (x86, ARM) it converts by plain copy. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Wire bytes → signed 16-bit samples. Throws CodecError on a frame that cannot be whole samples. With `into` (big
 * enough), the samples are written there and a view of it is returned: a fresh typed array costs ~2.5 µs on this
 * hardware, more than decoding a 20 ms frame, and the inbound path of every call runs this 50 times a second.
 */
export function decode(encoding: Encoding, bytes: Uint8Array, into?: Int16Array): Int16Array {
  if (encoding === 'pcm16' && bytes.byteLength % 2 !== 0) {
    throw new CodecError('odd_length', `pcm16 frame of ${bytes.byteLength} bytes is not a whole number of samples`);
  }
  const n = encoding === 'pcm16' ? bytes.byteLength / 2 : bytes.byteLength;
  const out = into && into.length >= n ? into.subarray(0, n) : new Int16Array(n);
  switch (encoding) {
    case 'pcm16': {
      if (LITTLE_ENDIAN) {
        // The wire's byte order is the host's: one copy (every inbound frame of every call passes here).
        new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
        return out;
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
      return out;
    }
    case 'mulaw':
    case 'alaw': {
      const table = DECODE[encoding];
      for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]];
      return out;
    }
  }
}

/** Signed 16-bit samples → wire bytes. */
export function encode(encoding: Encoding, samples: Int16Array): Uint8Array {
  switch (encoding) {
    case 'pcm16': {
      const out = new Uint8Array(samples.length * 2);
      if (LITTLE_ENDIAN) {
        out.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
        return out;
      }
      const view = new DataView(out.buffer);
      for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i], true);
      return out;
    }
    case 'mulaw':
    case 'alaw': {
      const table = encodeTable(encoding);
      const out = new Uint8Array(samples.length);
      for (let i = 0; i < samples.length; i++) out[i] = table[samples[i] + 32768];
      return out;
    }
  }
}

const encodedWhole = new WeakMap<Int16Array, { mulaw?: Uint8Array; alaw?: Uint8Array }>();

/**
 * Wire bytes of `whole[start, end)` as a view, for prompt frames: pcm16 on a little-endian host is the samples' own
 * bytes; G.711 is the whole prompt encoded once (kept while the prompt's samples are) and sliced. No typed array is
 * allocated per frame, and a prompt shared by many calls is encoded once. The prompt's samples must not change.
 */
export function encodeView(encoding: Encoding, whole: Int16Array, start: number, end: number): Uint8Array {
  if (encoding === 'pcm16') {
    if (!LITTLE_ENDIAN) return encode(encoding, whole.subarray(start, end));
    return new Uint8Array(whole.buffer, whole.byteOffset + start * 2, (end - start) * 2);
  }
  let cached = encodedWhole.get(whole);
  if (!cached) encodedWhole.set(whole, (cached = {}));
  const bytes = (cached[encoding] ??= encode(encoding, whole));
  return bytes.subarray(start, end);
}

export function int16ToFloat(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] / 32768;
  return out;
}

export function floatToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
