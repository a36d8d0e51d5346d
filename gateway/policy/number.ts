// Phone number normalisation so "+86 138-0013-8000", "+86 (138) 0013 8000" and "+8613800138000" are one callee for
// the DNC list and the frequency caps. Deliberately no national-format rewriting: a number without '+' is kept as
// dialled (it is then treated as domestic to the default time zone).

/** Strips spaces, dashes, dots, slashes and parentheses, keeps a leading '+', turns a leading "00" into '+'.
 *  Returns null when what remains is not 3–20 digits (optionally after '+'). */
export function normalizeNumber(input: string): string | null {
  let s = input.trim().replace(/[\s\-.()/\u00a0]/g, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`; // ITU international prefix, as dialled from most of the world
  return /^\+?\d{3,20}$/.test(s) ? s : null;
}
