// One spelling per phone number, so that the do-not-call list, the frequency caps and the call records cannot be
// side-stepped by writing a number another way (13800138000, 8613800138000, +86 138-0013-8000, 0086…). Every
// number is read into E.164 by libphonenumber-js (Google's metadata, full `max` set, so validity is checked
// against the allocated ranges, not only the length). How a string is read (gateway/policy/README.md):
//
//   * "+CC…", or the default country's international prefix ("00" in China and most of the world, "011" in NANP):
//     an international number;
//   * digits only: a number dialled in the default country — a national number with or without its trunk
//     prefix (13800138000, 021 1234 5678), or the default country's own calling code followed by a national
//     number (8613800138000). Numbers of other countries need "+" or the international prefix, as on a phone
//     in that country;
//   * when a digits-only string is a valid number both ways (national, and the country code + a different
//     national number: 496217498687 with default DE), it is ambiguous. Whoever uses the reading takes the
//     stricter outcome: admission refuses the call, the DNC list lists every reading and never removes on an
//     ambiguous string.
//   * anything else (letters, "ext", "tel:", numbers that are not valid in their country) is not a phone number.
import { getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type { CountryCode };

export const DEFAULT_COUNTRY: CountryCode = 'CN';

export type NumberReading =
  | { kind: 'number'; e164: string; country: CountryCode | undefined }
  | { kind: 'ambiguous'; readings: string[] }
  | { kind: 'invalid'; reason: string };

// Digits, one leading '+', and the separators people type. Anything else (letters, "ext", "tel:") is refused
// rather than extracted: a number that needs guessing is not one we may call.
const SHAPE = /^\+?[\d\s\-.()/\u00a0]+$/;
const MAX_INPUT = 64;

export function isCountryCode(c: string): c is CountryCode {
  return isSupportedCountry(c);
}

/** Reads `input` as a phone number dialled from `defaultCountry` (see the header for the rules). */
export function readNumber(input: string, defaultCountry: CountryCode = DEFAULT_COUNTRY): NumberReading {
  const s = input.trim();
  if (s.length === 0 || s.length > MAX_INPUT || !SHAPE.test(s)) return { kind: 'invalid', reason: 'not a phone number' };
  const digits = s.replace(/\D/g, '');
  if (digits.length < 3) return { kind: 'invalid', reason: 'not a phone number' };
  if (s.startsWith('+')) return single(parsePhoneNumberFromString(`+${digits}`), `+${digits}`);
  if (digits.startsWith('00')) return single(parsePhoneNumberFromString(`+${digits.slice(2)}`), s);

  // libphonenumber reads digits-only input as national and strips a leading copy of the default country's code
  // only when the whole string is not a valid national number; so if both readings are valid, it keeps the
  // national one and the other is found here.
  const national = parsePhoneNumberFromString(digits, { defaultCountry });
  const nationalOk = national?.isValid() ? national : undefined;
  const code = getCountryCallingCode(defaultCountry);
  const intl = digits.startsWith(code) ? parsePhoneNumberFromString(`+${digits}`) : undefined;
  const intlOk = intl?.isValid() ? intl : undefined;
  if (nationalOk && intlOk && nationalOk.number !== intlOk.number) {
    return { kind: 'ambiguous', readings: [nationalOk.number, intlOk.number] };
  }
  const n = nationalOk ?? intlOk;
  if (n) return { kind: 'number', e164: n.number, country: n.country };
  // Also honours the default country's own international prefix (011 in NANP).
  return single(national, s);
}

function single(n: ReturnType<typeof parsePhoneNumberFromString>, shown: string): NumberReading {
  if (!n) return { kind: 'invalid', reason: 'not a phone number' };
  if (!n.isValid()) return { kind: 'invalid', reason: `${shown} is not a valid number in its country` };
  return { kind: 'number', e164: n.number, country: n.country };
}

/** E.164 form of `input`, or null when it is not a valid phone number or is ambiguous. */
export function normalizeNumber(input: string, defaultCountry: CountryCode = DEFAULT_COUNTRY): string | null {
  const r = readNumber(input, defaultCountry);
  return r.kind === 'number' ? r.e164 : null;
}

/** Every E.164 number `input` may stand for: one, two when ambiguous, none when it is not a number. */
export function numberReadings(input: string, defaultCountry: CountryCode = DEFAULT_COUNTRY): string[] {
  const r = readNumber(input, defaultCountry);
  return r.kind === 'number' ? [r.e164] : r.kind === 'ambiguous' ? r.readings : [];
}
