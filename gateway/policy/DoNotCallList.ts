// The do-not-call list: numbers that asked not to be called (refusal, complaint) or were blocked by an operator.
// Entries are keyed by E.164, so every spelling of a listed number is blocked. An ambiguous digits-only string
// (number.ts) takes the stricter outcome: adding lists every reading, looking up finds any, removing is refused.
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import type { PolicyStore } from './PolicyStore.js';
import { DEFAULT_COUNTRY, readNumber, type CountryCode } from './number.js';
import type { DncEntry, DncSource } from './types.js';

export class InvalidNumberError extends Error {}

/** Removal needs one number: taking an entry off the list on a guess would loosen it. */
export class AmbiguousNumberError extends InvalidNumberError {}

/** The E.164 numbers `input` stands for (two when ambiguous); throws InvalidNumberError when it is not a number. */
export function requireNumber(input: string, defaultCountry: CountryCode = DEFAULT_COUNTRY): string[] {
  const r = readNumber(input, defaultCountry);
  if (r.kind === 'invalid') throw new InvalidNumberError(`not a phone number: ${JSON.stringify(input.slice(0, 64))} (${r.reason})`);
  return r.kind === 'number' ? [r.e164] : r.readings;
}

export class DoNotCallList {
  private readonly addedHooks: ((entries: DncEntry[]) => void)[] = [];
  private announce: (e: DncEntry) => readonly OutboxRow[] = () => [];

  constructor(
    private readonly store: PolicyStore,
    private readonly now: () => Date = () => new Date(),
    private readonly defaultCountry: CountryCode = DEFAULT_COUNTRY,
  ) {}

  /** Lists the number; returns one entry per number stored (two for an ambiguous input). */
  async add(number: string, reason: string, source: DncSource, callId?: string): Promise<DncEntry[]> {
    const addedAt = this.now().toISOString();
    const entries = requireNumber(number, this.defaultCountry).map((n): DncEntry => ({ number: n, reason, source, callId: callId ?? null, addedAt }));
    for (const e of entries) await this.store.addDnc(e, this.announce(e));
    for (const fn of this.addedHooks) fn(entries);
    return entries;
  }

  /** The outbox rows announcing each entry (the `dnc_added` webhook), written in the entry's own transaction. */
  announceWith(fn: (e: DncEntry) => readonly OutboxRow[]): void {
    this.announce = fn;
  }

  /** Runs `fn` after every addition from now on, with the entries stored (webhooks announce them). */
  onAdded(fn: (entries: DncEntry[]) => void): void {
    this.addedHooks.push(fn);
  }

  /** False when the number was not listed (or is not a number); throws AmbiguousNumberError for an ambiguous one. */
  async remove(number: string): Promise<boolean> {
    const r = readNumber(number, this.defaultCountry);
    if (r.kind === 'ambiguous') {
      throw new AmbiguousNumberError(`${JSON.stringify(number)} may be ${r.readings.join(' or ')}; name the number to remove in E.164`);
    }
    return r.kind === 'number' ? this.store.removeDnc(r.e164) : false;
  }

  async has(number: string): Promise<boolean> {
    return (await this.get(number)) !== null;
  }

  /** The entry blocking `number` (any of its readings), or null. */
  async get(number: string): Promise<DncEntry | null> {
    const r = readNumber(number, this.defaultCountry);
    const keys = r.kind === 'number' ? [r.e164] : r.kind === 'ambiguous' ? r.readings : [];
    for (const k of keys) {
      const e = await this.store.getDnc(k);
      if (e) return e;
    }
    return null;
  }

  async list(page: { limit?: number; offset?: number } = {}): Promise<DncEntry[]> {
    const limit = Math.min(Math.max(Math.trunc(page.limit ?? 100), 1), 10_000);
    const offset = Math.max(Math.trunc(page.offset ?? 0), 0);
    return this.store.listDnc({ limit, offset });
  }
}
