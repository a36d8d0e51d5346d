// Public API of approved call scripts.
export { HANGUP, ScriptFormatError, ScriptSchema, hashScript, parseScript, parseScriptRef, scriptFixedTexts, scriptPrompts, validateGraph, type Script, type ScriptNode } from './format.js';
export { ScriptRunner, type RunnerAction, type RunnerEvent, type RunnerTrace } from './runner.js';
export { SCRIPT_MIGRATIONS, ScriptError, ScriptStore, type ApprovedScript, type LoadedScript } from './ScriptStore.js';
export { ScriptsConfigSchema, parseScriptsConfig, type ScriptsConfig } from './config.js';
