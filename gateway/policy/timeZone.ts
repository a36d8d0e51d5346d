// Callee-local time for calling-hours rules. A number's zones come from its country (libphonenumber-js resolves
// shared calling codes: +1 416… is Canada, +1 212… the US) and the IANA zone list of that country
// (countries-and-timezones, built from tzdata's zone tables); local time is computed with Intl.
//
// A country that spans several zones gives all of them, and the call must be inside hours in every one (the
// policy is conservative: a US number is only called while it is daytime from New York to Honolulu). Operators
// who know better narrow it with policy.countryTimeZones, by country or by number prefix ("+1212").
import { getCountry } from 'countries-and-timezones';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Country ('US') or number prefix ('+1212') → zones. */
export type ZoneTable = Readonly<Record<string, readonly string[]>>;

/**
 * Where tzdata's country list would mislead the calling-hours rule. China has one legal time (Beijing); tzdata also
 * lists Asia/Urumqi for Xinjiang's unofficial UTC+6, which would take two hours off every Chinese calling day.
 */
export const BUILTIN_NUMBER_ZONES: ZoneTable = { CN: ['Asia/Shanghai'] };

/** Zone ids already checked: building an Intl.DateTimeFormat costs about a millisecond, and every call admission asked. */
const known = new Map<string, boolean>();
/** Far more than the few hundred zones there are: names a client made up cannot grow it without bound. */
const KNOWN_MAX = 2048;

export function isTimeZone(tz: string): boolean {
  const hit = known.get(tz);
  if (hit !== undefined) return hit;
  let ok: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    ok = true;
  } catch {
    ok = false;
  }
  if (known.size < KNOWN_MAX) known.set(tz, ok);
  return ok;
}

/**
 * The zones an E.164 number may be in: the longest matching '+' prefix of `overrides`, else its country's entry in
 * `overrides`, the built-in table or tzdata. Empty when the number has no country (+800, +882 …) or is unknown.
 */
export function numberTimeZones(e164: string, overrides: ZoneTable = {}): string[] {
  for (let len = Math.min(e164.length, 16); len >= 2; len--) {
    const z = overrides[e164.slice(0, len)];
    if (z) return [...z];
  }
  const country = parsePhoneNumberFromString(e164)?.country;
  if (!country) return [];
  const z = overrides[country] ?? BUILTIN_NUMBER_ZONES[country] ?? getCountry(country)?.timezones ?? [];
  return z.filter(isTimeZone);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight (0–1439) at `at` in `timeZone`; throws RangeError for an unknown zone. */
export function localMinutes(at: Date, timeZone: string): number {
  // Zone ids are case-insensitive to Intl; keyed in lower case so a client's spellings cannot grow the cache
  // beyond the few hundred zones there are.
  const key = timeZone.toLowerCase();
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(key, f);
  }
  let h = 0;
  let m = 0;
  for (const p of f.formatToParts(at)) {
    if (p.type === 'hour') h = Number(p.value) % 24;
    else if (p.type === 'minute') m = Number(p.value);
  }
  return h * 60 + m;
}

export function parseHhMm(s: string): number {
  const [h, m] = s.split(':').map(Number);
  return h * 60 + m;
}

export function formatMinutes(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

/** Whether local minute `t` lies in [start, end); a window with start > end wraps past midnight. */
export function inWindow(t: number, start: number, end: number): boolean {
  return start <= end ? t >= start && t < end : t >= start || t < end;
}
