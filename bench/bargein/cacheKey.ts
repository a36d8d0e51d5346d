// What the offline eval's caches were computed by: a short hash of the gateway code behind them, so that frames and
// looks cached before a change to the canceller, the VAD or the recogniser are extracted again instead of being
// replayed as if they were today's (they used to be: a cache named by corpus and rate alone outlived the code).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../../gateway/models.js';

const GATEWAY = join(PROJECT_ROOT, 'gateway');

/** Sources under gateway/ whose output a frame or a look can depend on, minus the decision code replayed over them. */
function sources(dir: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const rel = relative(GATEWAY, p);
    if (skip(rel)) continue;
    if (e.isDirectory()) out.push(...sources(p, skip));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

function hashOf(files: string[], extra: unknown): string {
  const h = createHash('sha1');
  for (const f of files) h.update(relative(GATEWAY, f)).update('\0').update(readFileSync(f)).update('\0');
  h.update(JSON.stringify(extra));
  return h.digest('hex').slice(0, 8);
}

// Frames: the listen worker's audio path (framing, canceller, VAD, tones, band energies) and the audio helpers. Not
// the policies replayed over them (BargeInPolicy, the interruption lexicon and probe), nor consent or the recogniser.
const notFrames = (rel: string) =>
  rel === join('listen', 'BargeInPolicy.ts') || ['interruption', 'consent', 'asr'].some((d) => rel === join('listen', d));

/** The files a frame's figures come from. */
export function frameSources(): string[] {
  return [...sources(join(GATEWAY, 'listen'), notFrames), ...sources(join(GATEWAY, 'audio'), () => false)];
}

/** Key of cached frames: the audio path's code and the echo and VAD settings they were extracted with. */
export function framesKey(settings: unknown): string {
  return hashOf(frameSources(), settings);
}

/** Key of cached looks: the frames' key (the residual they are cut from) and the recogniser's code. */
export function looksKey(settings: unknown): string {
  return hashOf(sources(join(GATEWAY, 'listen', 'asr'), () => false), [framesKey(settings), settings]);
}
