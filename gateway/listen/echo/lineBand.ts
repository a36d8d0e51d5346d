// The telephone band (300–3400 Hz), for judging how much of the microphone signal the prompt's echo explains. A
// line's hybrid and codecs pass only this band, so whatever a prompt carries outside it (a recording's DC offset,
// hum or rumble, which can be most of its energy in quiet stretches; air above 3.4 kHz) never echoes: measured over
// the full band it would count as echo the path failed to explain. Two second-order Butterworth sections (RBJ
// cookbook) run in place from rest; only the lock decision uses them, the adaptive filter sees the full band.

interface Section {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

function section(kind: 'high' | 'low', fc: number, rate: number): Section {
  const w = (2 * Math.PI * fc) / rate;
  const cos = Math.cos(w);
  const alpha = Math.sin(w) / Math.SQRT2; // Q = 1/√2: Butterworth
  const a0 = 1 + alpha;
  const k = kind === 'high' ? (1 + cos) / 2 : (1 - cos) / 2;
  return { b0: k / a0, b1: (kind === 'high' ? -2 * k : 2 * k) / a0, b2: k / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}

const cache = new Map<number, Section[]>();

/** Band-limits `x` (sampled at `rate`) to 300–3400 Hz, in place. */
export function lineBand(x: Float32Array, rate: number): void {
  let s = cache.get(rate);
  if (!s) cache.set(rate, (s = [section('high', 300, rate), section('low', 3400, rate)]));
  for (const { b0, b1, b2, a1, a2 } of s) {
    let x1 = 0;
    let x2 = 0;
    let y1 = 0;
    let y2 = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const y = b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
      x2 = x1;
      x1 = v;
      y2 = y1;
      y1 = y;
      x[i] = y;
    }
  }
}
