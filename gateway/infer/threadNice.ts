// Lowers the calling thread's CPU priority (Linux nice is per thread: setpriority on a thread id touches that thread
// only, and threads it starts later inherit it). For threads whose work has slack, so that on a busy host the
// threads a caller hears first — the event loop and the listen workers, which pause a prompt within 150 ms — get a
// core before them. Raising a nice value needs no privilege; lowering it again would, so it is set once at start.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Sets this thread's nice value; returns the thread id, or null where threads cannot be told apart (not Linux). */
export function niceThisThread(niceness: number): number | null {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/')[2]);
  } catch {
    return null;
  }
  if (!Number.isInteger(tid)) return null;
  setPriority(tid, niceness);
  return tid;
}
