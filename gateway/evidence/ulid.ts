// Evidence ids are ULIDs: 48-bit millisecond time + 80 random bits in Crockford base32, so ids sort by creation time
// as plain strings (directory listings, `ORDER BY id`, log greps) and need no coordination between processes.
// Within one process ids are strictly increasing even inside the same millisecond (the random part is incremented).
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom: number[] = []; // 16 base32 digits

function randomDigits(): number[] {
  const bytes = randomBytes(16);
  return Array.from(bytes, (b) => b & 31);
}

function increment(digits: number[]): number[] {
  const out = digits.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 31) {
      out[i]++;
      return out;
    }
    out[i] = 0;
  }
  throw new Error('ulid random part overflowed within one millisecond');
}

export function ulid(now: number = Date.now()): string {
  let time = Math.floor(now);
  if (time <= lastTime) {
    // Same millisecond (or the clock stepped back): stay monotonic by reusing the last time and bumping the random part.
    time = lastTime;
    lastRandom = increment(lastRandom);
  } else {
    lastTime = time;
    lastRandom = randomDigits();
  }
  let t = '';
  let rest = time;
  for (let i = 0; i < 10; i++) {
    t = ALPHABET[rest % 32] + t;
    rest = Math.floor(rest / 32);
  }
  return t + lastRandom.map((d) => ALPHABET[d]).join('');
}

/** Milliseconds since the epoch encoded in a ULID. */
export function ulidTime(id: string): number {
  let t = 0;
  for (const ch of id.slice(0, 10)) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new Error(`not a ULID: ${id}`);
    t = t * 32 + v;
  }
  return t;
}

export function isUlid(id: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id);
}
