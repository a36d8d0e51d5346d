// The event union of the call contract (gateway/call/events.ts) against what a user reads: every event type and
// every field of it is documented in docs/protocol.md's event table, and the schemas accept the events calls send
// and refuse ones they must not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CALL_EVENT_TYPES, CallEventSchema } from '../gateway/call/events.js';
import { PROJECT_ROOT } from '../gateway/models.js';

const doc = readFileSync(join(PROJECT_ROOT, 'docs/protocol.md'), 'utf8');

/** The event table's row of `type`, or undefined. */
function row(type: string): string | undefined {
  return doc.split('\n').find((l) => l.startsWith(`| \`${type}\` |`));
}

describe('call events', () => {
  it('every event type has a row in docs/protocol.md naming each of its fields', () => {
    const missing: string[] = [];
    for (const o of CallEventSchema.options) {
      const type = o.shape.type.value;
      const r = row(type);
      if (!r) {
        missing.push(`${type}: no row`);
        continue;
      }
      for (const field of Object.keys(o.shape)) {
        if (field !== 'type' && field !== 't' && !r.includes(`\`${field}\``) && !r.includes(`\`${field}[]\``)) missing.push(`${type}.${field}`);
      }
    }
    expect(missing).toEqual([]);
    expect(CALL_EVENT_TYPES).toContain('prompt_heard');
  });

  it('accepts a well-formed event and refuses unknown types, missing fields and undocumented extras', () => {
    expect(CallEventSchema.safeParse({ type: 'prompt_heard', t: 120, promptId: 'p', heardMs: 800, complete: false }).success).toBe(true);
    expect(CallEventSchema.safeParse({ type: 'prompt_heard', t: 120, promptId: 'p', heardMs: 800 }).success).toBe(false);
    expect(CallEventSchema.safeParse({ type: 'prompt_heard', t: 120, promptId: 'p', heardMs: 800, complete: true, extra: 1 }).success).toBe(false);
    expect(CallEventSchema.safeParse({ type: 'made_up', t: 0 }).success).toBe(false);
    expect(CallEventSchema.safeParse({ type: 'rejected', callId: 'c', reason: 'capacity' }).success, 'every event carries t').toBe(false);
  });
});
