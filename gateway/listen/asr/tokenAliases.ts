// sherpa-onnx reads hotword phrases as text and splits every word again into what it takes for characters: a pinyin
// final such as "ǎo" or "iāng" comes apart into letters that are other tokens or none at all, so the phrase would be
// boosted on the wrong tokens (measured: "h ǎo" was boosted on h, then cancelled). Giving sherpa the model's token
// table with every ordinary token renamed to an ASCII id (same index, so the network is untouched) makes each
// hotword token one word it cannot split; the recogniser's output is renamed back here.
import { readFileSync } from 'node:fs';

export class TokenAliases {
  private readonly toAlias = new Map<string, string>();
  private readonly toToken = new Map<string, string>();
  /** The renamed token table, for sherpa's `tokensBuf`. */
  readonly tokensBuf: string;

  constructor(tokensTxt: string) {
    const out: string[] = [];
    for (const line of tokensTxt.split('\n')) {
      const parts = line.trim().split(/\s+/);
      if (parts.length !== 2 || !/^\d+$/.test(parts[1]!)) continue;
      const [token, id] = parts as [string, string];
      // <blk>, <unk>, <sos/eos> are looked up by name inside sherpa: they keep it.
      const alias = token.startsWith('<') ? token : `t${id}`;
      this.toAlias.set(token, alias);
      this.toToken.set(alias, token);
      out.push(`${alias} ${id}`);
    }
    if (out.length === 0) throw new Error('token table is empty');
    this.tokensBuf = out.join('\n') + '\n';
  }

  static fromFile(path: string): TokenAliases {
    return new TokenAliases(readFileSync(path, 'utf8'));
  }

  /** Recogniser output token (an alias) → the model's token. */
  token(alias: string): string {
    return this.toToken.get(alias) ?? alias;
  }

  /**
   * Hotword phrases (model tokens) as sherpa's hotwords text, one phrase per line. A phrase with a token the model
   * does not have is left out and listed in `skipped`, never boosted on a part of itself. With `boosts` (one per
   * phrase) each line carries its own score (sherpa's ` :score` suffix), which replaces the recogniser-wide one.
   */
  hotwords(phrases: readonly string[][], boosts?: readonly number[]): { text: string; count: number; skipped: string[] } {
    if (boosts && boosts.length !== phrases.length) throw new Error(`${boosts.length} hotword boosts for ${phrases.length} phrases`);
    const lines: string[] = [];
    const skipped: string[] = [];
    const seen = new Set<string>();
    for (const [i, p] of phrases.entries()) {
      const aliases = p.map((t) => this.toAlias.get(t));
      if (p.length === 0 || aliases.some((a) => a === undefined)) {
        skipped.push(p.join(' '));
        continue;
      }
      const line = aliases.join(' ');
      if (seen.has(line)) continue;
      seen.add(line);
      const b = boosts?.[i];
      if (b !== undefined && !(Number.isFinite(b) && b >= 0)) throw new Error(`hotword boost ${b} of "${p.join(' ')}": a finite number ≥ 0`);
      lines.push(b === undefined ? line : `${line} :${b}`);
    }
    return { text: lines.length ? lines.join('\n') + '\n' : '', count: lines.length, skipped };
  }
}
