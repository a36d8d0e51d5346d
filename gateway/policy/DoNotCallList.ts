// The do-not-call list: numbers that asked not to be called (refusal, complaint) or were blocked by an operator.
import type { PolicyStore } from './PolicyStore.js';
import { normalizeNumber } from './number.js';
import type { DncEntry, DncSource } from './types.js';

export class InvalidNumberError extends Error {}

export function requireNumber(input: string): string {
  const n = normalizeNumber(input);
  if (!n) throw new InvalidNumberError(`not a phone number: ${JSON.stringify(input)}`);
  return n;
}

export class DoNotCallList {
  constructor(
    private readonly store: PolicyStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async add(number: string, reason: string, source: DncSource, callId?: string): Promise<DncEntry> {
    const entry: DncEntry = {
      number: requireNumber(number),
      reason,
      source,
      callId: callId ?? null,
      addedAt: this.now().toISOString(),
    };
    await this.store.addDnc(entry);
    return entry;
  }

  async remove(number: string): Promise<boolean> {
    const n = normalizeNumber(number);
    return n ? this.store.removeDnc(n) : false;
  }

  async has(number: string): Promise<boolean> {
    return (await this.get(number)) !== null;
  }

  async get(number: string): Promise<DncEntry | null> {
    const n = normalizeNumber(number);
    return n ? this.store.getDnc(n) : null;
  }

  async list(page: { limit?: number; offset?: number } = {}): Promise<DncEntry[]> {
    const limit = Math.min(Math.max(Math.trunc(page.limit ?? 100), 1), 10_000);
    const offset = Math.max(Math.trunc(page.offset ?? 0), 0);
    return this.store.listDnc({ limit, offset });
  }
}
