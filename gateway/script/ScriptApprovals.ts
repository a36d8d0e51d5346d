// Where approved script versions are kept: one interface, an implementation per engine (SQLite embedded,
// PostgreSQL for a fleet). Approved versions are immutable: a second insert of an existing id@version never
// changes it, and each engine refuses UPDATE and DELETE on the table itself.

export interface ApprovedScript {
  scriptId: string;
  version: string;
  sha256: string;
  file: string;
  language: string;
  callType: string;
  approvedBy: string | null;
  approvedAt: string;
}

/** An approval with the approved text itself: what every instance of a fleet runs, wherever the file was. */
export interface ApprovedScriptRecord extends ApprovedScript {
  content: string;
}

export interface ScriptApprovals {
  /** Stores `rec` unless its id@version exists; returns what is stored under it either way. */
  insert(rec: ApprovedScriptRecord): Promise<{ stored: ApprovedScriptRecord; created: boolean }>;
  get(scriptId: string, version: string): Promise<ApprovedScriptRecord | null>;
  /** By id, then approval time. */
  list(): Promise<ApprovedScript[]>;
  close?(): Promise<void>;
}
