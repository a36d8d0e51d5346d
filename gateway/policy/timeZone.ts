// Callee-local time for calling-hours rules, computed with Intl (the runtime's tz database; no library needed).

/**
 * Country calling code → zone. Multi-zone countries map to their most populous zone: +1 → New York means a 10:00
 * call checked in New York is 07:00 in Los Angeles. Pass `timeZone` in the request (or override via
 * policy.countryTimeZones) when the callee's zone is known more precisely.
 */
export const COUNTRY_TIME_ZONES: Readonly<Record<string, string>> = {
  '+1': 'America/New_York',
  '+7': 'Europe/Moscow',
  '+33': 'Europe/Paris',
  '+34': 'Europe/Madrid',
  '+39': 'Europe/Rome',
  '+44': 'Europe/London',
  '+49': 'Europe/Berlin',
  '+55': 'America/Sao_Paulo',
  '+60': 'Asia/Kuala_Lumpur',
  '+61': 'Australia/Sydney',
  '+62': 'Asia/Jakarta',
  '+63': 'Asia/Manila',
  '+65': 'Asia/Singapore',
  '+66': 'Asia/Bangkok',
  '+81': 'Asia/Tokyo',
  '+82': 'Asia/Seoul',
  '+84': 'Asia/Ho_Chi_Minh',
  '+86': 'Asia/Shanghai',
  '+91': 'Asia/Kolkata',
  '+852': 'Asia/Hong_Kong',
  '+853': 'Asia/Macau',
  '+886': 'Asia/Taipei',
  '+971': 'Asia/Dubai',
};

/** Longest matching country code of a normalised '+' number, or null. */
export function inferTimeZone(number: string, table: Readonly<Record<string, string>> = COUNTRY_TIME_ZONES): string | null {
  if (!number.startsWith('+')) return null;
  for (let len = 4; len >= 1; len--) {
    const zone = table[number.slice(0, len + 1)];
    if (zone) return zone;
  }
  return null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight (0–1439) at `at` in `timeZone`; throws RangeError for an unknown zone. */
export function localMinutes(at: Date, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
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
