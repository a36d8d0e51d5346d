// `--prompts library`: before the first step the bench uploads each prompt its scenarios play, once, as a platform
// uploads its approved recordings (`PUT /v1/prompts/:id`, level kept as recorded so the far end hears exactly what
// the corpus echoes), and every call then plays it by id instead of carrying seconds of base64 in its `play`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from './scenarios.js';

export async function uploadPrompts(http: string, token: string | null, dir: string, scenarios: readonly Scenario[]): Promise<number> {
  const files = new Map<string, string>();
  for (const s of scenarios) if (s.prompt && s.prompt.base64 === null) files.set(s.prompt.id, s.prompt.file);
  for (const [id, file] of files) {
    const res = await fetch(`${http}/v1/prompts/${encodeURIComponent(id)}?loudness=off`, {
      method: 'PUT',
      body: new Uint8Array(readFileSync(join(dir, file))),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    // 200: a gateway that already holds this very recording (a second run with --url).
    if (res.status !== 201 && res.status !== 200) throw new Error(`uploading prompt ${id} (${file}): HTTP ${res.status} ${await res.text()}`);
  }
  return files.size;
}
