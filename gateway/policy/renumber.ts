// Data migration: the numbers stored before every number was read into E.164 (number.ts). Before it, only
// punctuation was stripped, so "13800138000", "8613800138000" and "+8613800138000" were three callees: three DNC
// keys (two of them never matched again) and three frequency caps. Rewrites each stored number to its E.164 form
// with the configured default country, in the migration's transaction.
//
// Where stored spellings meet, or a stored string is ambiguous, the stricter outcome wins: DNC entries fold into
// one per number (the most recent reason and source are kept) and an ambiguous one lists every reading; an
// ambiguous attempt counts against the cap of every reading. Strings that are no number stay as they were (they
// can match nothing any more) and are counted in the log line. Evidence rows keep the callee as it was: they are
// hash-chained and never rewritten.
import { rootLogger } from '../ops/log.js';
import type { Db } from '../store/Database.js';
import { numberReadings, type CountryCode } from './number.js';
import type { DncEntry } from './types.js';

export interface RenumberReport {
  dnc: { before: number; after: number; unreadable: number };
  attempts: { rewritten: number; duplicated: number; unreadable: number };
  records: { rewritten: number; unreadable: number };
}

export function renumberStoredNumbers(db: Db, defaultCountry: CountryCode): RenumberReport {
  const report: RenumberReport = {
    dnc: { before: 0, after: 0, unreadable: 0 },
    attempts: { rewritten: 0, duplicated: 0, unreadable: 0 },
    records: { rewritten: 0, unreadable: 0 },
  };

  const entries = db.prepare('SELECT number, reason, source, callId, addedAt FROM dnc').all() as DncEntry[];
  report.dnc.before = entries.length;
  const folded = new Map<string, DncEntry>();
  for (const e of entries) {
    const readings = numberReadings(e.number, defaultCountry);
    if (readings.length === 0) report.dnc.unreadable++;
    for (const n of readings.length ? readings : [e.number]) {
      const cur = folded.get(n);
      if (!cur || cur.addedAt < e.addedAt) folded.set(n, { ...e, number: n });
    }
  }
  db.prepare('DELETE FROM dnc').run();
  const insertDnc = db.prepare('INSERT INTO dnc (number, reason, source, callId, addedAt) VALUES (@number, @reason, @source, @callId, @addedAt)');
  for (const e of folded.values()) insertDnc.run(e);
  report.dnc.after = folded.size;

  const retarget = db.prepare('UPDATE call_attempts SET callee = ? WHERE callee = ?');
  const copy = db.prepare('INSERT INTO call_attempts (callId, callee, callType, at) SELECT callId, ?, callType, at FROM call_attempts WHERE callee = ?');
  for (const { callee } of db.prepare('SELECT DISTINCT callee FROM call_attempts').all() as { callee: string }[]) {
    const readings = numberReadings(callee, defaultCountry);
    if (readings.length === 0) {
      report.attempts.unreadable++;
      continue;
    }
    for (const n of readings.slice(1)) report.attempts.duplicated += copy.run(n, callee).changes;
    if (readings[0] !== callee) report.attempts.rewritten += retarget.run(readings[0], callee).changes;
  }

  const record = db.prepare('UPDATE call_records SET callee = ? WHERE callee = ?');
  for (const { callee } of db.prepare('SELECT DISTINCT callee FROM call_records WHERE callee IS NOT NULL').all() as { callee: string }[]) {
    const readings = numberReadings(callee, defaultCountry);
    // A record names one callee; an ambiguous spelling stays as the client wrote it.
    if (readings.length !== 1) {
      report.records.unreadable++;
      continue;
    }
    if (readings[0] !== callee) report.records.rewritten += record.run(readings[0], callee).changes;
  }

  rootLogger.child({ mod: 'policy' }).info({ defaultCountry, ...report }, 'stored numbers rewritten to E.164');
  return report;
}
