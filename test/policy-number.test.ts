// gateway/policy/number.ts and timeZone.ts: how a callee string becomes one E.164 number, and which zones that
// number's calling hours are checked in.
import { describe, expect, it } from 'vitest';
import { normalizeNumber, numberReadings, numberTimeZones, readNumber } from '../gateway/policy/index.js';
import { isTimeZone } from '../gateway/policy/timeZone.js';

const CN_NORM = '+8613800138000';

describe('readNumber', () => {
  it('reads every spelling of a Chinese mobile as one E.164 number with the CN default', () => {
    for (const s of ['+8613800138000', '+86 138-0013-8000', ' +86 (138) 0013.8000 ', '0086 13800138000', '008613800138000', '13800138000', '138 0013 8000', '8613800138000', '86 138 0013 8000']) {
      expect(readNumber(s, 'CN'), s).toEqual({ kind: 'number', e164: CN_NORM, country: 'CN' });
    }
  });

  it('reads national fixed-line numbers with or without the trunk prefix', () => {
    expect(normalizeNumber('021 1234 5678', 'CN')).toBe('+862112345678');
    expect(normalizeNumber('2112345678', 'CN')).toBe('+862112345678');
  });

  it('reads digits-only strings in the default country only: a foreign number needs + or 00', () => {
    // +1 310 555 0100 is a Los Angeles number, but dialled as digits in China it is a Chinese mobile.
    expect(normalizeNumber('13105550100', 'CN')).toBe('+8613105550100');
    expect(normalizeNumber('+13105550100', 'CN')).toBe('+13105550100');
    expect(normalizeNumber('0044 20 7123 4567', 'CN')).toBe('+442071234567');
    expect(normalizeNumber('442071234567', 'CN')).toBeNull(); // not a valid Chinese number
    // The default country decides: the same digits with another default.
    expect(normalizeNumber('2125550100', 'US')).toBe('+12125550100');
    expect(normalizeNumber('011 86 138 0013 8000', 'US')).toBe(CN_NORM); // NANP's international prefix
  });

  it('drops the (0) trunk prefix written inside an international number', () => {
    expect(normalizeNumber('+44 (0)20 7123 4567')).toBe('+442071234567');
  });

  it('reports an ambiguous digits-only string with both readings', () => {
    // Germany: 496217498687 is a national number (Leer area) and also 49 + a Ludwigshafen number.
    expect(readNumber('496217498687', 'DE')).toEqual({ kind: 'ambiguous', readings: ['+49496217498687', '+496217498687'] });
    expect(normalizeNumber('496217498687', 'DE')).toBeNull();
    expect(numberReadings('496217498687', 'DE')).toEqual(['+49496217498687', '+496217498687']);
    // In E.164 it is not ambiguous.
    expect(normalizeNumber('+496217498687', 'DE')).toBe('+496217498687');
  });

  it('refuses what is not a valid number: garbage, extensions, URIs, wrong lengths, unallocated ranges', () => {
    for (const s of ['call me maybe', '+', '12+34', '', '+8613800138000 ext 5', 'tel:+8613800138000', '+86138001380001', '+15550001', '+999123', '1'.repeat(80)]) {
      expect(readNumber(s, 'CN').kind, s).toBe('invalid');
    }
    // UK drama numbers (07700 900xxx) are reserved, never allocated.
    expect(normalizeNumber('+447700900123')).toBeNull();
  });
});

describe('isTimeZone', () => {
  it('answers from memory the second time, the same answer; made-up names stay unknown however many come', () => {
    for (let k = 0; k < 2; k++) {
      expect(isTimeZone('Asia/Shanghai')).toBe(true);
      expect(isTimeZone('America/New_York')).toBe(true);
      expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    }
    for (let i = 0; i < 3000; i++) expect(isTimeZone(`Nowhere/Zone_${i}`)).toBe(false);
    expect(isTimeZone('Europe/London')).toBe(true);
  });
});

describe('numberTimeZones', () => {
  it('gives single-zone countries their zone, China Beijing time only', () => {
    expect(numberTimeZones(CN_NORM)).toEqual(['Asia/Shanghai']);
    expect(numberTimeZones('+85291234567')).toEqual(['Asia/Hong_Kong']);
    expect(numberTimeZones('+886912345678')).toEqual(['Asia/Taipei']);
    expect(numberTimeZones('+442071234567')).toEqual(['Europe/London']);
  });

  it('gives every zone of a multi-zone country, resolving shared calling codes by number', () => {
    const us = numberTimeZones('+12125550100');
    expect(us).toEqual(expect.arrayContaining(['America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Pacific/Honolulu']));
    const ca = numberTimeZones('+14165550100'); // Toronto: +1 but Canada
    expect(ca).toContain('America/Toronto');
    expect(ca).not.toContain('Pacific/Honolulu');
  });

  it('operator overrides win, longest number prefix first, then country', () => {
    const o = { '+1212': ['America/New_York'], US: ['America/Chicago'], '+1': ['America/Denver'] };
    expect(numberTimeZones('+12125550100', o)).toEqual(['America/New_York']);
    expect(numberTimeZones('+13105550100', o)).toEqual(['America/Denver']);
    expect(numberTimeZones('+13105550100', { US: ['America/Chicago'] })).toEqual(['America/Chicago']);
  });

  it('has no zone for non-geographic numbers', () => {
    expect(numberTimeZones('+80012345678')).toEqual([]);
  });
});
