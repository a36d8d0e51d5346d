// The same ScriptApprovals tests on both engines (SQLite file, real PostgreSQL server).
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgScriptApprovals } from '../gateway/script/PgScriptApprovals.js';
import type { ApprovedScriptRecord, ScriptApprovals } from '../gateway/script/ScriptApprovals.js';
import { ScriptError, ScriptStore } from '../gateway/script/ScriptStore.js';
import { SqliteScriptApprovals } from '../gateway/script/SqliteScriptApprovals.js';
import { Postgres } from '../gateway/store/postgres/Postgres.js';
import { twoInstances, useCluster } from './helpers/postgres.js';
import { sqlitePair } from './helpers/sqlitePair.js';

const cluster = useCluster();

interface Engine {
  name: string;
  open(): Promise<{ a: ScriptApprovals; b: ScriptApprovals; raw: (sql: string) => Promise<unknown>; close: () => Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    async open() {
      const { da, db, close } = sqlitePair('scripts');
      return { a: new SqliteScriptApprovals(da), b: new SqliteScriptApprovals(db), raw: async (sql) => da.exec(sql), close };
    },
  },
  {
    name: 'postgres',
    async open() {
      const { pa, pb, close } = await twoInstances(cluster());
      const [a, b] = await Promise.all([PgScriptApprovals.open(pa), PgScriptApprovals.open(pb)]);
      return { a, b, raw: (sql) => pa.query(sql), close };
    },
  },
];

const rec = (version: string, content: string, sha256: string): ApprovedScriptRecord => ({
  scriptId: 'welcome',
  version,
  sha256,
  file: '/srv/scripts/welcome.yaml',
  content,
  language: 'zh',
  callType: 'marketing',
  approvedBy: 'compliance',
  approvedAt: `2026-01-0${version}T00:00:00.000Z`,
});

describe.each(engines)('ScriptApprovals on $name', (engine) => {
  it('an approval made on one instance is read, with its text, on the other', async () => {
    const { a, b, close } = await engine.open();
    try {
      expect(await a.insert(rec('1', 'id: welcome\n', 'aa'))).toEqual({ stored: rec('1', 'id: welcome\n', 'aa'), created: true });
      expect(await b.get('welcome', '1')).toEqual(rec('1', 'id: welcome\n', 'aa'));
      expect(await b.get('welcome', '2')).toBeNull();
      await b.insert(rec('2', 'id: welcome # v2\n', 'bb'));
      const { content: _c1, ...meta1 } = rec('1', '', 'aa');
      const { content: _c2, ...meta2 } = rec('2', '', 'bb');
      expect(await a.list()).toEqual([meta1, meta2]);
    } finally {
      await close();
    }
  });

  it('an approved version never changes: a second insert returns the original, the table refuses edits', async () => {
    const { a, b, raw, close } = await engine.open();
    try {
      await a.insert(rec('1', 'original', 'aa'));
      const again = await b.insert(rec('1', 'tampered', 'cc'));
      expect(again).toEqual({ stored: rec('1', 'original', 'aa'), created: false });
      await expect(raw(`UPDATE approved_scripts SET content = 'x'`)).rejects.toThrow(/immutable/);
      await expect(raw(`DELETE FROM approved_scripts`)).rejects.toThrow(/immutable/);
      expect((await a.get('welcome', '1'))?.content).toBe('original');
    } finally {
      await close();
    }
  });
});

const SCRIPT = `id: fleet-demo
version: 1
language: zh
callType: notification
nodes:
  greet:
    say: "您好，这是一条通知。"
    next: goodbye
  goodbye:
    say: "再见。"
    next: hangup
`;

describe.each(engines)('ScriptStore on $name', (engine) => {
  it('a script approved on one instance runs on the other without its file; a local file edited afterwards is refused', async () => {
    const { a, b, close } = await engine.open();
    const dir = mkdtempSync(join(tmpdir(), 'earshot-script-file-'));
    try {
      const file = join(dir, 'demo.yaml');
      writeFileSync(file, SCRIPT);
      const onA = new ScriptStore(a);
      const onB = new ScriptStore(b);
      const { approval, created } = await onA.approve(file, { approvedBy: 'qa' });
      expect(created).toBe(true);
      unlinkSync(file); // instance B's machine never had it
      const loaded = await onB.load('fleet-demo@1');
      expect(loaded.approval).toEqual(approval);
      expect(loaded.script.nodes.greet).toBeDefined();
      writeFileSync(file, SCRIPT.replace('通知', '广告')); // the file reappears, edited
      await expect(onB.load('fleet-demo@1')).rejects.toThrow(ScriptError);
      await expect(onB.load('fleet-demo@2')).rejects.toMatchObject({ code: 'script_not_approved' });
      await expect(onB.approve(file)).rejects.toThrow(/immutable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await close();
    }
  });
});
