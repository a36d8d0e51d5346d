// The recorded-prompt library in the fleet's PostgreSQL database: the decoded PCM in the row (a minute of prompt is
// ~2.9 MB at both rates), so an upload to any instance is playable on every instance. A trigger NOTIFYs each new
// prompt; every instance loads it into its in-memory library at once.
import type { PgMigrationSet, Postgres } from '../store/postgres/Postgres.js';
import { pcmBytes, pcmFromBytes, type PromptStore, type RecordedPromptInfo, type StoredPrompt } from './PromptStore.js';

const CHANNEL = 'earshot_prompts';

export const PG_PROMPT_MIGRATIONS: PgMigrationSet = {
  module: 'prompts',
  steps: [
    `CREATE TABLE recorded_prompts (
      "promptId" TEXT PRIMARY KEY,
      sha256 TEXT NOT NULL,
      "durationMs" INTEGER NOT NULL,
      "loudnessLufs" DOUBLE PRECISION,
      "addedAt" TEXT NOT NULL,
      pcm16k BYTEA NOT NULL,
      pcm8k BYTEA NOT NULL
    );
    CREATE FUNCTION earshot_prompt_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${CHANNEL}', NEW."promptId");
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER recorded_prompts_notify AFTER INSERT ON recorded_prompts FOR EACH ROW EXECUTE FUNCTION earshot_prompt_added();
    CREATE FUNCTION earshot_prompt_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'recorded prompts are immutable: % refused', TG_OP;
    END
    $$;
    CREATE TRIGGER recorded_prompts_immutable BEFORE UPDATE OR DELETE ON recorded_prompts FOR EACH ROW EXECUTE FUNCTION earshot_prompt_immutable();`,
  ],
};

const INFO = '"promptId", sha256, "durationMs", "loudnessLufs", "addedAt"';

interface Row extends RecordedPromptInfo {
  pcm16k: Buffer;
  pcm8k: Buffer;
}

function fromRow(r: Row): StoredPrompt {
  const { pcm16k, pcm8k, ...info } = r;
  return { info, pcm16k: pcmFromBytes(pcm16k), pcm8k: pcmFromBytes(pcm8k) };
}

export class PgPromptStore implements PromptStore {
  /** `release`: called by close() (gives back a shared pool). */
  static async open(pg: Postgres, release?: () => Promise<void>): Promise<PgPromptStore> {
    await pg.migrate([PG_PROMPT_MIGRATIONS]);
    return new PgPromptStore(pg, release);
  }

  private constructor(
    private readonly pg: Postgres,
    private readonly release?: () => Promise<void>,
  ) {}

  async close(): Promise<void> {
    await this.release?.();
  }

  async loadAll(): Promise<StoredPrompt[]> {
    return (await this.pg.query<Row>(`SELECT ${INFO}, pcm16k, pcm8k FROM recorded_prompts ORDER BY "promptId"`)).rows.map(fromRow);
  }

  async load(promptId: string): Promise<StoredPrompt | null> {
    const r = await this.pg.query<Row>(`SELECT ${INFO}, pcm16k, pcm8k FROM recorded_prompts WHERE "promptId" = $1`, [promptId]);
    return r.rows[0] ? fromRow(r.rows[0]) : null;
  }

  async insert(p: StoredPrompt): Promise<{ stored: RecordedPromptInfo; created: boolean }> {
    const i = p.info;
    const ins = await this.pg.query(
      `INSERT INTO recorded_prompts (${INFO}, pcm16k, pcm8k) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [i.promptId, i.sha256, i.durationMs, i.loudnessLufs, i.addedAt, pcmBytes(p.pcm16k), pcmBytes(p.pcm8k)],
    );
    if (ins.rowCount === 1) return { stored: i, created: true };
    const r = await this.pg.query<RecordedPromptInfo>(`SELECT ${INFO} FROM recorded_prompts WHERE "promptId" = $1`, [i.promptId]);
    return { stored: r.rows[0], created: false };
  }

  onAdded(cb: (promptId: string) => void): () => void {
    return this.pg.listen(CHANNEL, cb);
  }
}
