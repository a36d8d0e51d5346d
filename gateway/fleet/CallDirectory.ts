// Where each live call of a fleet is held: callId → the instance that has its media, with that instance's internal
// address, so the control API and event streams of any instance can reach it. Entries live only as long as their
// instance keeps its heartbeat; a refusal at start is kept briefly so a stream that subscribes just after it
// (`?wait=`) still learns why.

export type DirectoryEntry =
  | { state: 'live'; callId: string; instanceId: string; address: string }
  | { state: 'rejected'; callId: string; instanceId: string; reason: string };

export interface CallDirectory {
  /** This process's id in the fleet. */
  readonly instanceId: string;
  /** Its internal address (`http://host:port`), where other instances forward requests for its calls. */
  readonly address: string;
  /**
   * Claims `callId` for this instance. False when a live call with that id is held by any instance of the fleet
   * (a duplicate); a refusal or the entry of a dead instance is taken over.
   */
  claim(callId: string): Promise<boolean>;
  /** The call ended here: its entry goes. */
  release(callId: string): Promise<void>;
  /** The call was refused at start here (policy, capacity, …): streams waiting for it anywhere learn `reason`. */
  reject(callId: string, reason: string): Promise<void>;
  /** The live or recently refused entry for `callId`, or null (unknown, ended, or its instance is gone). */
  lookup(callId: string): Promise<DirectoryEntry | null>;
  /**
   * Calls `cb` each time `callId` is claimed or refused anywhere in the fleet (possibly more than once; look it up
   * again to see what it is now). Subscribe before looking up, so that nothing falls between the two.
   */
  watch(callId: string, cb: () => void): () => void;
  /** Calls held by live instances (directory-wide view for `/v1/calls?fleet=1` and tests). */
  list(): Promise<{ callId: string; instanceId: string; address: string }[]>;
  close(): Promise<void>;
}
