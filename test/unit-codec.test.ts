// G.711 and linear PCM (gateway/audio/codec.ts) against known ITU-T G.711 values; WAV writing against wavefile;
// the strict base64 check of play.audio.
import { describe, expect, it } from 'vitest';
import wavefilePkg from 'wavefile';
import { encodeWav, parseWav } from '../gateway/audio/wav.js';
import { decodeBase64Audio } from '../gateway/call/commands.js';
import { bytesForMs, bytesPerSample, CodecError, decode, encode, encodeView, floatToInt16, int16ToFloat } from '../gateway/audio/codec.js';

const { WaveFile } = wavefilePkg as unknown as { WaveFile: typeof import('wavefile').WaveFile };

const all = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('μ-law', () => {
  it('decodes the known code points', () => {
    expect([...decode('mulaw', new Uint8Array([0xff, 0x7f, 0x80, 0x00, 0xfe, 0x7e]))]).toEqual([0, 0, 32124, -32124, 8, -8]);
  });
  it('encodes 0 as 0xFF and the int16 extremes as 0x80 / 0x00', () => {
    expect([...encode('mulaw', new Int16Array([0, 32767, -32768, 32124, -32124]))]).toEqual([0xff, 0x80, 0x00, 0x80, 0x00]);
  });
  it('is odd-symmetric: code c and c^0x80 decode to opposite values', () => {
    const d = decode('mulaw', all);
    for (let c = 0; c < 128; c++) expect(d[c] + d[c | 0x80], `code ${c}`).toBe(0);
  });
  it('every code round-trips (0x7F, negative zero, comes back as 0xFF)', () => {
    const back = encode('mulaw', decode('mulaw', all));
    for (let c = 0; c < 256; c++) expect(back[c], `code ${c.toString(16)}`).toBe(c === 0x7f ? 0xff : c);
  });
  it('decoded values are monotonic in the magnitude bits', () => {
    const d = decode('mulaw', all);
    for (let c = 0x80; c < 0xff; c++) expect(d[c]).toBeGreaterThan(d[c + 1]);
  });
  it('quantisation error of a sample round trip stays within the segment step', () => {
    const xs = Int16Array.from({ length: 2001 }, (_, i) => (i - 1000) * 32);
    const y = decode('mulaw', encode('mulaw', xs));
    for (let i = 0; i < xs.length; i++) {
      const step = Math.max(8, Math.abs(xs[i]) / 16); // 4 mantissa bits: step ≈ |x|/16
      expect(Math.abs(y[i] - xs[i]), `x=${xs[i]}`).toBeLessThanOrEqual(step + 4);
    }
  });
});

describe('A-law', () => {
  it('decodes the known code points', () => {
    expect([...decode('alaw', new Uint8Array([0xd5, 0x55, 0xaa, 0x2a]))]).toEqual([8, -8, 32256, -32256]);
  });
  it('encodes 0 as 0xD5 and the extremes as 0xAA / 0x2A', () => {
    expect([...encode('alaw', new Int16Array([0, 32767, -32768]))]).toEqual([0xd5, 0xaa, 0x2a]);
  });
  it('every code round-trips exactly', () => {
    expect([...encode('alaw', decode('alaw', all))]).toEqual([...all]);
  });
  it('has no zero output level (smallest magnitude 8)', () => {
    const d = decode('alaw', all);
    expect(Math.min(...[...d].map(Math.abs))).toBe(8);
  });
});

describe('pcm16', () => {
  it('is little-endian signed', () => {
    expect([...decode('pcm16', new Uint8Array([0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f, 0x34, 0x12]))]).toEqual([1, -1, -32768, 32767, 0x1234]);
    expect([...encode('pcm16', new Int16Array([1, -1, -32768, 32767, 0x1234]))]).toEqual([0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f, 0x34, 0x12]);
  });
  it('decodes from an unaligned view of a larger buffer', () => {
    const buf = new Uint8Array([9, 0x02, 0x01, 0x04, 0x03]);
    expect([...decode('pcm16', buf.subarray(1))]).toEqual([0x0102, 0x0304]);
  });
  it('encodes only the samples of a view (a playout frame is a window of the prompt)', () => {
    const prompt = new Int16Array([0x1111, 0x0102, 0x0304, 0x2222]);
    expect([...encode('pcm16', prompt.subarray(1, 3))]).toEqual([0x02, 0x01, 0x04, 0x03]);
  });
  it('round-trips arbitrary samples', () => {
    const x = Int16Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 65536) - 32768);
    expect([...decode('pcm16', encode('pcm16', x))]).toEqual([...x]);
  });
  it('odd length is a CodecError "odd_length"', () => {
    let err: unknown;
    try {
      decode('pcm16', new Uint8Array(3));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CodecError);
    expect((err as CodecError).code).toBe('odd_length');
    expect((err as Error).message).toContain('3 bytes');
  });
  it('empty input gives empty output', () => {
    expect(decode('pcm16', new Uint8Array(0)).length).toBe(0);
    expect(encode('mulaw', new Int16Array(0)).length).toBe(0);
  });
});

describe('sizes and float conversion', () => {
  it('bytesPerSample / bytesForMs', () => {
    expect(bytesPerSample('pcm16')).toBe(2);
    expect(bytesPerSample('mulaw')).toBe(1);
    expect(bytesForMs({ encoding: 'pcm16', sampleRate: 16000 }, 20)).toBe(640);
    expect(bytesForMs({ encoding: 'mulaw', sampleRate: 8000 }, 20)).toBe(160);
    expect(bytesForMs({ encoding: 'alaw', sampleRate: 8000 }, 30)).toBe(240);
  });
  it('int16ToFloat scales by 1/32768', () => {
    expect([...int16ToFloat(new Int16Array([0, 16384, -32768, 32767]))]).toEqual([0, 0.5, -1, 32767 / 32768]);
  });
  it('floatToInt16 rounds and clips', () => {
    expect([...floatToInt16(new Float32Array([0, 0.5, -1, 1, 2, -2, 1 / 65536, -0.25]))]).toEqual([0, 16384, -32768, 32767, 32767, -32768, 1, -8192]);
  });
  it('int16 → float → int16 is lossless', () => {
    const x = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const y = floatToInt16(int16ToFloat(x));
    let diff = 0;
    for (let i = 0; i < x.length; i++) if (y[i] !== x[i]) diff++;
    expect(diff).toBe(0);
  });
});

describe('decodeBase64Audio (strict base64 for play.audio)', () => {
  it('accepts standard base64 with and without padding', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 300]) {
      const b = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37) & 255));
      expect(decodeBase64Audio(b.toString('base64'))?.equals(b)).toBe(true);
    }
  });
  it.each(['ab!d', 'ab d', 'ab=cdefg', 'abc', 'a===', '====', 'ab\ncd=='])('rejects %j', (s) => {
    expect(decodeBase64Audio(s)).toBeNull();
  });
});

describe('encodeWav', () => {
  it.each([
    [16000, 0],
    [16000, 1],
    [8000, 8001],
  ])('writes the same bytes as wavefile and reads back (%i Hz, %i samples)', (sampleRate, n) => {
    const samples = Int16Array.from({ length: n }, (_, i) => ((i * 7919) % 65536) - 32768);
    const ours = encodeWav({ sampleRate, samples });
    const ref = new WaveFile();
    ref.fromScratch(1, sampleRate, '16', samples);
    expect(ours.equals(Buffer.from(ref.toBuffer()))).toBe(true);
    const back = parseWav(ours);
    expect(back.sampleRate).toBe(sampleRate);
    expect(back.samples).toEqual(samples);
  });
});

describe('G.711 tables', () => {
  it('decode and encode answer exactly as alawmulaw does, for every code and every sample', async () => {
    const { default: pkg } = await import('alawmulaw');
    const { alaw, mulaw } = pkg as unknown as typeof import('alawmulaw');
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const samples = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    expect([...decode('mulaw', codes)]).toEqual([...mulaw.decode(codes)]);
    expect([...decode('alaw', codes)]).toEqual([...alaw.decode(codes)]);
    expect(Buffer.from(encode('mulaw', samples)).equals(Buffer.from(mulaw.encode(samples)))).toBe(true);
    expect(Buffer.from(encode('alaw', samples)).equals(Buffer.from(alaw.encode(samples)))).toBe(true);
  });
});

describe('decode into a caller buffer', () => {
  it('writes into `into` and returns a view of it, equal to a fresh decode; falls back when it is too small', () => {
    const into = new Int16Array(400);
    const pcmBytes = Buffer.from(Int16Array.from({ length: 320 }, (_, i) => i * 97 - 15000).buffer);
    const odd = Buffer.alloc(pcmBytes.length + 1);
    pcmBytes.copy(odd, 1);
    for (const [enc, bytes] of [['pcm16', pcmBytes], ['pcm16', odd.subarray(1)], ['mulaw', all], ['alaw', all]] as const) {
      const got = decode(enc, bytes, into);
      expect(got.buffer).toBe(into.buffer);
      expect([...got]).toEqual([...decode(enc, bytes)]);
    }
    const small = new Int16Array(10);
    expect(decode('mulaw', all, small).buffer).not.toBe(small.buffer);
  });
});

describe('encodeView (prompt frames)', () => {
  it('equals encoding the frame, without a typed array per frame; a prompt is encoded once for every call', () => {
    const prompt = Int16Array.from({ length: 1600 }, (_, i) => Math.round(20000 * Math.sin(i / 5)));
    for (const enc of ['pcm16', 'mulaw', 'alaw'] as const) {
      const buffers = new Set<ArrayBufferLike>();
      for (let at = 0; at < prompt.length; at += 160) {
        const v = encodeView(enc, prompt, at, at + 160);
        expect(Buffer.from(v).equals(Buffer.from(encode(enc, prompt.subarray(at, at + 160))))).toBe(true);
        buffers.add(v.buffer);
      }
      expect(buffers.size).toBe(1);
      if (enc === 'pcm16') expect([...buffers][0]).toBe(prompt.buffer);
      // A second call playing the same prompt reuses the encoding.
      expect(encodeView(enc, prompt, 0, 160).buffer).toBe([...buffers][0]);
    }
  });
});
