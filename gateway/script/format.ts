// Approved call scripts: the YAML file format (documented in scripts/README.md), its validation and its hash.
// A script is a small graph of nodes; each node may say one prompt (a template with {slots}) or play one recorded
// prompt from the library (pinned by its SHA-256 at approval), may listen for a consent answer, and names where to
// go next on each event. Validation checks every reference, so a script that
// parses is one the runner can always drive to a hangup.
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { z } from 'zod';
import { PROMPT_ID_RE } from '../speak/PromptLibrary.js';
import { templateFixedParts } from '../speak/template.js';

export const HANGUP = 'hangup';
const NodeId = z.string().regex(/^[A-Za-z_][\w-]*$/, 'node ids: letters, digits, _ and -');

const Listen = z
  .object({
    /** How long to wait for an answer after the prompt finishes. */
    windowMs: z.number().int().min(500).max(60000).default(6000),
  })
  .strict();

const On = z
  .object({
    granted: NodeId.optional(),
    refused: NodeId.optional(),
    unclear: NodeId.optional(),
    /** No answer within the listen window. */
    timeout: NodeId.optional(),
    /** The callee talked over this node's prompt. */
    barge_in: NodeId.optional(),
    /** Keypad digits → node. */
    dtmf: z.record(z.string().regex(/^[0-9*#A-D]$/), NodeId).optional(),
  })
  .strict();

const PromptId = z.string().regex(PROMPT_ID_RE, 'a recorded prompt id: 1–128 of [A-Za-z0-9_.:@-]');

/**
 * A recorded prompt from the library (`PUT /v1/prompts/:id`): its id as written, and once approved the SHA-256 of
 * the recording approval found, which is the only audio the node will ever play.
 */
const Play = z
  .union([PromptId, z.object({ prompt: PromptId, sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256') }).strict()])
  .transform((p): { prompt: string; sha256?: string } => (typeof p === 'string' ? { prompt: p } : p));

export const ScriptNodeSchema = z
  .object({
    /** Prompt template; `{name}` slots are filled from the start message's `slots`. */
    say: z.string().min(1).max(2000).optional(),
    /** A recorded prompt instead of synthesised text. */
    play: Play.optional(),
    interruptible: z.boolean().default(true),
    /** Never played unless the callee granted consent on this call. */
    requiresConsent: z.boolean().default(false),
    listen: Listen.optional(),
    on: On.default({}),
    /** Where to go when the prompt finishes (non-listen nodes). `hangup` ends the call. */
    next: NodeId.optional(),
  })
  .strict();

export const ScriptSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, . _ -'),
    version: z.union([z.string().regex(/^[\w.-]{1,32}$/), z.number().int().min(0)]).transform(String),
    language: z.enum(['zh', 'en']),
    callType: z.enum(['marketing', 'notification']),
    /** TTS engine id (e.g. syllable, espeak); omitted = the language default. */
    voice: z.string().optional(),
    description: z.string().optional(),
    /** First node. */
    start: NodeId.default('greet'),
    /** Listen rounds per call (first question + re-prompts); when spent, the call goes to `exhausted`. */
    maxRounds: z.number().int().min(1).max(10).default(2),
    exhausted: NodeId.default('goodbye'),
    /** Where a requiresConsent node's caller is sent when consent was not granted. */
    noConsent: NodeId.default('goodbye'),
    /** Slot names every call must supply. */
    slots: z.array(z.string().regex(/^[A-Za-z_]\w*$/)).default([]),
    nodes: z.record(NodeId, ScriptNodeSchema),
  })
  .strict();

export type Script = z.infer<typeof ScriptSchema>;
export type ScriptNode = z.infer<typeof ScriptNodeSchema>;

export class ScriptFormatError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid script ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ScriptFormatError';
  }
}

export function hashScript(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Parses and validates a script file's text; throws ScriptFormatError listing every problem. */
export function parseScript(text: string, source = '<script>'): Script {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new ScriptFormatError(source, [`YAML: ${(e as Error).message}`]);
  }
  const r = ScriptSchema.safeParse(raw);
  if (!r.success) throw new ScriptFormatError(source, r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  const problems = validateGraph(r.data);
  if (problems.length) throw new ScriptFormatError(source, problems);
  return r.data;
}

function slotNames(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z_]\w*)\}/g)].map((m) => m[1]);
}

/** Reference and safety checks the schema cannot express. */
export function validateGraph(s: Script): string[] {
  const out: string[] = [];
  const ids = new Set(Object.keys(s.nodes));
  const ref = (where: string, to: string | undefined) => {
    if (to !== undefined && to !== HANGUP && !ids.has(to)) out.push(`${where}: unknown node "${to}"`);
  };
  if (ids.has(HANGUP)) out.push(`nodes.${HANGUP}: "${HANGUP}" is reserved`);
  ref('start', s.start);
  ref('exhausted', s.exhausted);
  ref('noConsent', s.noConsent);
  if (s.nodes[s.start]?.requiresConsent) out.push(`start: the first node cannot require consent`);
  if (s.nodes[s.noConsent]?.requiresConsent) out.push(`noConsent: "${s.noConsent}" itself requires consent`);
  if (s.nodes[s.exhausted]?.listen) out.push(`exhausted: "${s.exhausted}" must not listen (it would never end)`);
  for (const [id, n] of Object.entries(s.nodes)) {
    const w = `nodes.${id}`;
    ref(`${w}.next`, n.next);
    for (const [k, v] of Object.entries(n.on)) {
      if (k === 'dtmf') for (const [d, to] of Object.entries(v as Record<string, string>)) ref(`${w}.on.dtmf.${d}`, to);
      else ref(`${w}.on.${k}`, v as string);
    }
    if (n.listen) {
      if (!n.on.granted || !n.on.refused) out.push(`${w}: a listen node needs on.granted and on.refused`);
      if (n.next) out.push(`${w}: a listen node branches on the answer; "next" is not allowed`);
      if (n.requiresConsent) out.push(`${w}: a listen node cannot require consent`);
    } else if (!n.next) out.push(`${w}: needs "next" (a node or "${HANGUP}") or "listen"`);
    if (!n.say && !n.play && !n.listen && n.next === undefined) out.push(`${w}: does nothing`);
    if (n.say && n.play) out.push(`${w}: "say" and "play" both given: a node speaks one prompt`);
    if (n.say) for (const name of slotNames(n.say)) if (!s.slots.includes(name)) out.push(`${w}.say: slot {${name}} is not declared in "slots"`);
    // Consent is given to hear the pitch: a refused or unclear answer must never lead there.
    for (const k of ['refused', 'unclear', 'timeout'] as const) {
      const to = n.on[k];
      if (to && s.nodes[to]?.requiresConsent) out.push(`${w}.on.${k}: leads to "${to}", which requires consent`);
    }
  }
  // Every node must be able to reach a hangup (no loops without an exit).
  const reach = new Set<string>();
  const canEnd = (id: string, seen: Set<string>): boolean => {
    if (id === HANGUP || reach.has(id)) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    const n = s.nodes[id];
    if (!n) return false;
    const outs = [n.next, ...Object.values(n.on).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v ?? {})))].filter((x): x is string => !!x);
    if (n.listen) outs.push(s.exhausted);
    if (n.requiresConsent) outs.push(s.noConsent);
    const ok = outs.some((o) => canEnd(o, seen));
    if (ok) reach.add(id);
    return ok;
  };
  if (!out.length) for (const id of ids) if (!canEnd(id, new Set())) out.push(`nodes.${id}: can never reach "${HANGUP}"`);
  return out;
}

/** Every prompt template of the script. */
export function scriptPrompts(s: Script): { node: string; template: string; requiresConsent: boolean }[] {
  return Object.entries(s.nodes)
    .filter(([, n]) => n.say)
    .map(([node, n]) => ({ node, template: n.say!, requiresConsent: n.requiresConsent }));
}

/** Every recorded prompt the script plays, with its pin (none before approval). */
export function scriptRecordings(s: Script): { node: string; prompt: string; sha256?: string }[] {
  return Object.entries(s.nodes)
    .filter(([, n]) => n.play)
    .map(([node, n]) => ({ node, ...n.play! }));
}

/** The fixed text pieces to pre-render into the prompt cache. */
export function scriptFixedTexts(s: Script): string[] {
  return [...new Set(scriptPrompts(s).flatMap((p) => templateFixedParts(p.template)))];
}

export function parseScriptRef(ref: string): { id: string; version: string } | null {
  const m = /^([a-z0-9][a-z0-9._-]{0,63})@([\w.-]{1,32})$/.exec(ref);
  return m ? { id: m[1], version: m[2] } : null;
}
