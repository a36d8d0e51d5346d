/**
 * Caller audio that arrives while a call is still being admitted (policy checks). Twilio and Asterisk stream from
 * the first moment, and a callee's first word (喂?) is often in it, so it is held and replayed once the call
 * exists, keeping the inbound timeline whole. Bounded: past `maxMs` the oldest audio goes.
 */
export class AdmissionBuffer<T> {
  private items: { item: T; ms: number }[] = [];
  private ms = 0;
  dropped = 0;

  constructor(private readonly maxMs = 2000) {}

  push(item: T, ms: number): void {
    this.items.push({ item, ms });
    this.ms += ms;
    while (this.ms > this.maxMs && this.items.length > 1) {
      this.ms -= this.items.shift()!.ms;
      this.dropped++;
    }
  }

  drain(): T[] {
    const out = this.items.map((i) => i.item);
    this.items = [];
    this.ms = 0;
    return out;
  }
}
