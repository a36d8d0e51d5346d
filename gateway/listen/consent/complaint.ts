// A complaint heard through a poor recogniser: 别打了 often comes out as "b ié d ǎ d é", which no lexicon phrase
// matches exactly. Matching toneless, spaceless pinyin (and characters, for character models) catches it. Used only
// to turn a non-granted decision into a complaint refusal, so it can make a decision safer, never more permissive.
const COMPLAINT_RE = /别再?打|不要再?打|投诉|骚扰|举报|stop calling|do not call|don't call/i;
// After 别再 / 不要再 ("don't … again") the hotword search, which boosts the question words 哪 and 呢, hears 打了 as
// 哪呢 ("b ié z ài n ǎ ér n e"): d and n are one place of articulation apart. Only with 再, so 别拿 stays what it is.
const COMPLAINT_PINYIN_RE = /bie(zai)?da|buyao(zai)?da|biezaina|buyaozaina|tousu|saorao|jubao/;

export function soundsLikeComplaint(text: string): boolean {
  if (COMPLAINT_RE.test(text)) return true;
  const flat = text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/ü/g, 'v').replace(/[^a-z]/gi, '').toLowerCase();
  return COMPLAINT_PINYIN_RE.test(flat);
}
