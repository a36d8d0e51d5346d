// Chinese text normalisation for speech: digits and symbols become the characters a person would say.
// Reading choices (documented because call-centre style differs from textbook style):
//  - phone numbers are read digit by digit with 1 as 幺 (yāo), as Chinese operators and call centres do, because
//    一 (yī) and 七 (qī) are easily confused on a narrow-band line; other digit strings (account numbers, years)
//    keep 一. Phone groups are separated by a space, which the voices render as a short breath pause.
//  - 2 is 两 before a measure word (两分钟, 两个, 两元) and as the leading digit of 千/万/亿 (两千, 两万), and
//    二 elsewhere (二十, 十二, 二百, 二月, 第二, 二点五).
//  - a bare 5-digit number such as 10086 is a quantity (一万零八十六) unless a phone word (电话, 拨打, 热线, 客服,
//    号码, 致电) comes shortly before it or it starts with 0 / is 9+ digits (account and ID numbers), in which case it is read digit by digit.
//  - money: ¥1,234.50 → 一千二百三十四元五角; 12.05元 → 十二元零五分; 3.5万元 → 三点五万元.

const DIGIT = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
const SMALL_UNITS = ['', '十', '百', '千'];
const BIG_UNITS = ['', '万', '亿', '万亿'];

/** Measure words and units after which 2 is 两 (a quantity of things), not 二. */
const MEASURE =
  '个位只条张件次天年周小时分钟秒种份本台辆家岁元块毛角斤公里米克吨瓶杯碗双对套间层项笔期点倍名人组款部篇句声页遍趟场户票成';
const MEASURE_MULTI = ['分钟', '小时', '个月', '星期', '公里', '公斤', '千克', '周岁'];

const PHONE_CONTEXT = /(电话|手机|拨打|致电|热线|客服|号码|联系|来电|专线|短信)[^\d，。！？；]{0,6}$/;

function toAsciiDigits(s: string): string {
  return s
    .replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48))
    .replace(/：/g, ':')
    .replace(/％/g, '%')
    .replace(/．/g, '.')
    .replace(/＋/g, '+')
    .replace(/－/g, '-');
}

/** Digit by digit: "13800138000" → 一三八…; `one` chooses 一 or 幺 for 1. */
export function readDigits(digits: string, one: '一' | '幺' = '一'): string {
  let out = '';
  for (const c of digits) {
    if (c >= '0' && c <= '9') out += c === '1' ? one : DIGIT[Number(c)];
  }
  return out;
}

/** A four-digit section (0–9999) as a quantity, without leading 零. */
function section(n: number, liangLead: boolean): string {
  let out = '';
  let zero = false;
  const digits = String(n).padStart(4, '0');
  let started = false;
  for (let i = 0; i < 4; i++) {
    const d = Number(digits[i]);
    const unit = SMALL_UNITS[3 - i];
    if (d === 0) {
      if (started) zero = true;
      continue;
    }
    if (zero) out += '零';
    zero = false;
    // 两 only for the leading 2 of 千 (两千); 二百 and 二十 stay 二.
    out += d === 2 && unit === '千' && liangLead ? '两' : DIGIT[d];
    out += unit;
    started = true;
  }
  return out;
}

/** Integer as a quantity: 5000 → 五千, 10086 → 一万零八十六, 15 → 十五, 2000 → 两千, 20000 → 两万. */
export function readInteger(intStr: string, opts: { liang?: boolean } = {}): string {
  const s = intStr.replace(/^0+(?=\d)/, '');
  if (s.length > 16) return readDigits(s);
  const n = BigInt(s);
  if (n === 0n) return '零';
  const liang = opts.liang ?? true;
  // Split into 4-digit sections, most significant first.
  const secs: number[] = [];
  let rest = n;
  while (rest > 0n) {
    secs.unshift(Number(rest % 10000n));
    rest /= 10000n;
  }
  let out = '';
  let pendingZero = false;
  for (let i = 0; i < secs.length; i++) {
    const v = secs[i];
    const big = BIG_UNITS[secs.length - 1 - i];
    if (v === 0) {
      pendingZero = out !== '';
      continue;
    }
    if (out !== '' && (pendingZero || v < 1000)) out += '零';
    pendingZero = false;
    if (v === 2 && big !== '' && liang) out += '两';
    else out += section(v, liang);
    out += big;
  }
  // 10–19 at the start are said 十X, not 一十X.
  if (/^一十/.test(out) && secs[0] >= 10 && secs[0] < 20) out = out.slice(1);
  return out;
}

/** Decimal: 3.5 → 三点五, 0.25 → 零点二五. */
export function readDecimal(num: string, opts: { liang?: boolean } = {}): string {
  const [i, f] = num.split('.');
  const whole = readInteger(i === '' ? '0' : i, opts);
  return f ? `${whole}点${readDigits(f)}` : whole;
}

/** Quantity 2 alone before a measure word is 两; otherwise as readInteger/readDecimal. */
function readQuantity(num: string, nextText: string): string {
  const clean = num.replace(/,/g, '');
  if (clean.includes('.')) return readDecimal(clean);
  const before = beforeMeasure(nextText);
  if (clean === '2') return before ? '两' : '二';
  return readInteger(clean, { liang: true });
}

function beforeMeasure(next: string): boolean {
  if (MEASURE_MULTI.some((m) => next.startsWith(m))) return true;
  return next.length > 0 && MEASURE.includes(next[0]);
}

function readMoney(amount: string): string {
  const clean = amount.replace(/,/g, '');
  const [i, f = ''] = clean.split('.');
  const yuan = readInteger(i || '0', { liang: true });
  const jiao = Number(f[0] ?? '0');
  const fen = Number(f[1] ?? '0');
  let out = i === '2' ? '两元' : `${yuan}元`;
  if (jiao === 0 && fen === 0) return out;
  if (jiao > 0) out += `${DIGIT[jiao]}角`;
  else out += '零';
  if (fen > 0) out += `${DIGIT[fen]}分`;
  return out;
}

function readPhone(raw: string): string {
  let s = raw.trim();
  let prefix = '';
  if (s.startsWith('+')) {
    const m = /^\+(\d{1,3})[\s-]*/.exec(s)!;
    prefix = `加${readDigits(m[1], '幺')} `;
    s = s.slice(m[0].length);
  }
  // Keep the writer's grouping; an ungrouped 11-digit mobile is said 3-4-4.
  let groups = s.split(/[\s-]+/).filter(Boolean);
  if (groups.length === 1 && /^1\d{10}$/.test(groups[0])) {
    const g = groups[0];
    groups = [g.slice(0, 3), g.slice(3, 7), g.slice(7)];
  }
  return prefix + groups.map((g) => readDigits(g, '幺')).join(' ');
}

function readTime(h: string, m: string, s?: string): string {
  const hour = h === '2' || h === '02' ? '两' : readInteger(h);
  let out = `${hour}点`;
  const mm = Number(m);
  if (mm === 0 && !s) return `${out}整`;
  out += mm < 10 ? `零${DIGIT[mm]}分` : `${readInteger(String(mm), { liang: false })}分`;
  if (s !== undefined) {
    const ss = Number(s);
    out += ss < 10 ? `零${DIGIT[ss]}秒` : `${readInteger(String(ss), { liang: false })}秒`;
  }
  return out;
}

function readDate(y: string | undefined, mo: string | undefined, d: string | undefined, dayWord = '日'): string {
  let out = '';
  if (y) out += `${readDigits(y)}年`;
  if (mo) out += `${readInteger(String(Number(mo)), { liang: false })}月`;
  if (d) out += `${readInteger(String(Number(d)), { liang: false })}${dayWord}`;
  return out;
}

/** Normalises Chinese text for speech; non-numeric text passes through unchanged. */
export function normalizeZh(input: string): string {
  let t = toAsciiDigits(input);

  // Phone numbers first: they contain runs that would otherwise be read as quantities or dates.
  t = t.replace(/\+\d{1,3}[\s-]?\d{2,4}(?:[\s-]?\d{3,4}){1,3}/g, (m) => readPhone(m));
  t = t.replace(/(?<![\d.])1\d{2}[\s-]\d{4}[\s-]\d{4}(?![\d.])/g, (m) => readPhone(m));
  t = t.replace(/(?<![\d.])(?:0\d{2,3}|400|800)-\d{3,4}-?\d{3,4}(?![\d.])/g, (m) => readPhone(m));
  t = t.replace(/(?<![\d.,])1[3-9]\d{9}(?![\d.])/g, (m) => readPhone(m));

  // Dates: 2026年3月1日, 2026-03-01, 2026/3/1, 3月1日/号.
  t = t.replace(/(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)/g, (_m, y, mo, d) => readDate(y, mo, d));
  t = t.replace(/(\d{2,4})年(?:(\d{1,2})月(?:(\d{1,2})([日号]))?)?/g, (_m, y, mo, d, w) =>
    readDate(y, mo, d, w ?? '日'),
  );
  t = t.replace(/(\d{1,2})月(?:(\d{1,2})([日号]))?/g, (_m, mo, d, w) => readDate(undefined, mo, d, w ?? '日'));

  // Times: 14:30, 9:05:07.
  t = t.replace(/(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?(?!\d)/g, (_m, h, mi, s) => readTime(h, mi, s));

  // Money with a currency sign, then with 元/块 after it (3.5万元 keeps 万 as a spoken unit).
  t = t.replace(/[¥￥]\s?(\d[\d,]*(?:\.\d{1,2})?)(万|亿)?(元)?/g, (_m, a, big) =>
    big ? `${readDecimal(a.replace(/,/g, ''))}${big}元` : readMoney(a),
  );
  t = t.replace(/(\d[\d,]*\.\d{1,2})元/g, (_m, a) => readMoney(a));
  t = t.replace(/(?<![\d.])(\d[\d,]*)(?:\.(\d+))?(万|亿)/g, (_m, i, f, big) => {
    const c = i.replace(/,/g, '');
    return `${f ? readDecimal(`${c}.${f}`) : c === '2' ? '两' : readInteger(c)}${big}`;
  });

  // Percentages: 50% → 百分之五十.
  t = t.replace(/(-?)(\d[\d,]*(?:\.\d+)?)%/g, (_m, neg, n) => `${neg ? '负' : ''}百分之${readDecimal(n.replace(/,/g, ''), { liang: false })}`);

  // Ordinals: 第2 → 第二.
  t = t.replace(/第(\d+)/g, (_m, n) => `第${readInteger(n, { liang: false })}`);

  // Remaining numbers: phone context or digit-string shape → digit by digit; otherwise a quantity.
  t = t.replace(/(-?)(\d[\d,]*(?:\.\d+)?)/g, (m, neg: string, num: string, offset: number, whole: string) => {
    const before = whole.slice(0, offset);
    const after = whole.slice(offset + m.length);
    const plain = num.replace(/,/g, '');
    const isDigitString = !num.includes(',') && !num.includes('.') && (/^0\d/.test(num) || num.length >= 9);
    if (PHONE_CONTEXT.test(before) && /^\d{3,}$/.test(plain)) return `${neg}${readDigits(plain, '幺')}`;
    if (isDigitString) return `${neg}${readDigits(plain)}`;
    return `${neg ? '负' : ''}${readQuantity(num, after)}`;
  });
  return t;
}
