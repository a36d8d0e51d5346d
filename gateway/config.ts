// One validated configuration: defaults ← JSON/YAML file ← environment. Every section is checked here, the
// features' own too (tts, scripts, policy, evidence, wires, tracing: their schemas are composed in), and unknown keys
// are refused: a bad or misspelt value stops the process at start-up with the path of the offending key, never
// half-way through a call. docs/configuration.md is generated from these schemas (npm run docs:config).
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { EvidenceConfigSchema } from './evidence/config.js';
import { DatabaseConfigSchema, FleetConfigSchema } from './fleet/config.js';
import { TracingConfigSchema } from './ops/tracingConfig.js';
import { PolicyConfigSchema } from './policy/config.js';
import { ScriptsConfigSchema } from './script/config.js';
import { TtsConfigSchema } from './speak/config.js';
import { WebhooksConfigSchema } from './webhooks/config.js';
import { WiresConfigSchema } from './wires/config.js';

/** On for every call, off, or on for wideband (16 kHz) calls only (perRate.ts). */
const PerRate = z.union([z.boolean(), z.literal('wideband')]);

const BargeInContent = z.strictObject({
  enabled: PerRate.default(true).describe(
    'Content-aware decisions (`true`, `false`, or `wideband`: 16 kHz calls only): while a pause is pending the ' +
      'recogniser hears the paused stretch, so backchannels resume however long they last and clear interruptions ' +
      'commit early. Needs `asr.model` for the call\'s language; without it (or off) the duration rule alone decides. ' +
      'On by default since 2026-12-07, with the interruption classifier (`bargeIn.interruption`): on the generated ' +
      'test half false commits 51–55 → 46–49 (16 kHz) and 46–50 → 41–45 (8 kHz) of 160 over three runs each, commits ' +
      'within 500 ms about as many at 16 kHz and more at 8 kHz (README "Barge-in").',
  ),
  lexiconFile: z.string().optional().describe(
    'Backchannel and interruption words per language (YAML, like the consent lexicon) replacing the bundled ' +
      'gateway/listen/interruption/lexicon.*.yaml.',
  ),
  minSpeechMs: z.number().int().min(32).max(3000).default(128).describe(
    'A clear interruption (listed word, or enough non-backchannel words) commits after this much speech.',
  ),
  waitMs: z.number().int().min(0).max(2000).default(96).describe(
    'When the unsure rule\'s speech (the larger of `commitMinSpeechMs` and `unsureMaxMs`) is in without a verdict, wait at ' +
      'most this long for one.',
  ),
  backchannelMaxMs: z.number().int().min(100).max(10000).default(2000).describe(
    'Backchannel words that last longer than this (speech ms) commit all the same.',
  ),
  unsureMaxMs: z.number().int().min(32).max(5000).default(320).describe(
    'Nothing recognised, or one unknown word: commit after this much speech (at least `commitMinSpeechMs`).',
  ),
  trailingUnits: z.number().int().min(0).max(5).default(1).describe(
    'After backchannel words in a pause, a later look that adds at most this many other units (no interruption word) ' +
      'keeps the backchannel verdict: the recogniser\'s odd syllable at the end of a look. 0 = off.',
  ),
  preRollMs: z.number().int().min(0).max(1000).default(200).describe(
    'Audio before the VAD onset that the recogniser hears too.',
  ),
  firstAtMs: z.number().int().min(32).max(2000).default(256).describe(
    'First look at the paused stretch this long after the onset (inbound ms), then every `everyMs`.',
  ),
  everyMs: z.number().int().min(32).max(2000).default(128).describe('Interval between looks at the paused stretch.'),
  maxMs: z.number().int().min(100).max(10000).default(2400).describe(
    'No looks after this much of the paused stretch: the duration rules decide what is left.',
  ),
});

const BargeInNearEnd = z.strictObject({
  enabled: z.boolean().default(false).describe(
    'Use the near-end frame classifier (gateway/listen/nearEnd/: VAD, echo canceller figures and level over the ' +
      'call\'s floor, trained on the barge-in corpus\'s tuning half) in barge-in decisions. Off: on the test half it ' +
      'did not improve every criterion (README "Barge-in").',
  ),
  mode: z.enum(['veto', 'replace']).default('veto').describe(
    '`veto`: the VAD and echo gate decide as before, but a frame counts only as much as the classifier believes it ' +
      '(min of the two probabilities); `replace`: the classifier\'s probability alone, no echo gate.',
  ),
  weights: z.string().default('').describe('Classifier weights (JSON); empty: the built-in gateway/listen/nearEnd/near-end.v1.json.'),
  pauseThreshold: z.number().min(0).max(1).default(0.5).describe('Probability that pauses the prompt (in place of `bargeIn.pauseThreshold`).'),
  silenceThreshold: z.number().min(0).max(1).default(0.25).describe('Below this a frame counts as silence (in place of `bargeIn.silenceThreshold`).'),
  commitMinSpeechMs: z.number().int().min(32).max(3000).default(288).describe('Speech ms that commit (in place of `bargeIn.commitMinSpeechMs`).'),
});

const BargeInInterruption = z.strictObject({
  enabled: z.union([z.boolean(), z.literal('withContent')]).default('withContent').describe(
    'Use the interruption classifier (gateway/listen/nearEnd/InterruptionModel.ts: per frame, the residual\'s and the ' +
      'echo estimate\'s band energies, the VAD and the canceller\'s figures over the last ~220 ms; trained on the ' +
      'barge-in corpus\'s tuning half to tell a barge-in from echo, noise, backchannels and events) in barge-in ' +
      'decisions over an interruptible prompt, as `mode` says. `withContent` (default): on the calls whose pauses take ' +
      'content verdicts (`bargeIn.content`), where the two were measured together; `true`: every call; `false`: none ' +
      '(README "Barge-in").',
  ),
  mode: z.enum(['replace', 'veto', 'paused', 'pausedVeto']).default('pausedVeto').describe(
    '`replace`: over an interruptible prompt the classifier alone decides (no VAD, echo or background gate); `veto`: ' +
      'today\'s rule, a frame counting only as much as the classifier believes it too; `paused`: today\'s rule pauses, ' +
      'and once paused the classifier alone decides resume and commit; `pausedVeto`: once paused, it vetoes today\'s rule.',
  ),
  weights: z.string().default('').describe('Classifier weights (JSON); empty: the built-in gateway/listen/nearEnd/interruption.v1.json.'),
  pauseThreshold: z.number().min(0).max(1).default(0.7).describe('Classifier probability that pauses the prompt (`replace`, `veto`).'),
  silenceThreshold: z.number().min(0).max(1).default(0.7).describe('Below this a frame counts as silence while the classifier decides.'),
  commitMinSpeechMs: z.number().int().min(32).max(3000).default(256).describe(
    'Frames at or above `silenceThreshold` since the pause (ms) that commit (in place of `bargeIn.commitMinSpeechMs`).',
  ),
});

const BargeIn = z.strictObject({
  pauseThreshold: z.number().min(0).max(1).default(0.3).describe('Speech probability above which the prompt pauses.'),
  pauseMinSpeechMs: z.number().int().min(0).max(1000).default(32).describe(
    'Speech milliseconds needed to pause (0 = first frame over threshold), unless one frame is at least ' +
      '`pauseInstantThreshold` sure.',
  ),
  pauseInstantThreshold: z.number().min(0).max(1).default(1).describe(
    'A frame at least this sure pauses at once, whatever `pauseMinSpeechMs` asks: a callee\'s onset usually is, while ' +
      'a click, a cough\'s burst or a syllable of a TV in the room is often one frame between `pauseThreshold` and this. ' +
      'With `pauseMinSpeechMs` 64, 0.7 trades pauses within 150 ms for fewer pauses on noise (README "Barge-in"); ' +
      'the default pauses on one frame.',
  ),
  commitMinSpeechMs: z.number().int().min(32).max(3000).default(320).describe(
    'Speech milliseconds (since onset, gaps under `gapMs` bridged) that commit a barge-in.',
  ),
  resumeAfterSilenceMs: z.number().int().min(32).max(3000).default(160).describe(
    'Silence after which a paused prompt resumes when speech did not last long enough.',
  ),
  silenceThreshold: z.number().min(0).max(1).default(0.25).describe(
    'Probability below which a frame counts as silence (hysteresis).',
  ),
  gapMs: z.number().int().min(0).max(1000).default(96).describe('Gaps shorter than this inside speech are bridged.'),
  backgroundMarginDb: z.number().min(0).max(40).default(9).describe(
    'Where the last 3 s held speech-like background (TV, babble, residual echo), a frame must be this many dB above ' +
      'its median level to start a barge-in (0: off; README "Barge-in").',
  ),
  content: BargeInContent.prefault({}).describe('Content-aware barge-in decisions (README "Barge-in").'),
  nearEnd: BargeInNearEnd.prefault({}).describe('Near-end frame classifier for barge-in decisions (README "Barge-in").'),
  interruption: BargeInInterruption.prefault({}).describe('Interruption classifier for barge-in decisions (README "Barge-in").'),
});

const Echo = z.strictObject({
  enabled: z.boolean().default(true).describe('Cancel the line echo of our own prompts before the VAD hears the callee.'),
  maxDelayMs: z.number().int().min(20).max(1000).default(400).describe('Largest round-trip echo delay searched, ms.'),
  taps: z.number().int().min(256).max(4096).default(1024).describe(
    'Adaptive filter span from just before the found bulk delay, taps at 16 kHz (rounded up to 16 ms blocks): the ' +
      'path\'s dispersion and tail. 1024 = 64 ms, ITU-T G.168\'s shortest tail.',
  ),
  gateMarginDb: z.number().min(0).max(30).default(6).describe(
    'Before the path is known: the residual must exceed the echo there could be by this many dB.',
  ),
  clearRatio: z.number().min(0).max(100).default(8).describe(
    'Once the path is known: residual energy standing out bin by bin above the expected residual echo and the ' +
      'noise floor, as a multiple of those two, for a frame to count as callee speech. Tuned on the barge-in ' +
      'corpus\'s tuning half (bench/corpus).',
  ),
  softRatio: z.number().min(0).max(100).default(2).describe(
    'Below `clearRatio` but above this multiple a frame is doubtful, which a confident VAD may overrule; below ' +
      'it the frame is echo.',
  ),
  suppress: z.boolean().default(false).describe(
    'Residual echo suppression on what the VAD and the recogniser hear, down to `suppressDb` per bin. Off: on the ' +
      'corpus\'s tuning half it took pauses on echo and noise from 60 % to 51 % of those scenarios but pauses in ' +
      'time from 57 % to 54 % and commits in time from 63 % to 56 % of barge-ins (16 kHz), and costs a transform.',
  ),
  suppressDb: z.number().min(0).max(60).default(20).describe('Deepest residual echo suppression per bin, dB.'),
  robustFilter: PerRate.default(false).describe(
    'The adaptive filter\'s double talk judged on the residual\'s excess alone (above 1.5 × the expected echo and ' +
      'noise, no Geigel test), a step shared among its partitions in proportion to their weights, four pretraining ' +
      'passes: on G.168 lines the echo left under a loud callee 8–9 → 17–18 dB down and 20–28 dB of cancellation in ' +
      'the first second after the lock (12–26). `true`, `false` (the default) or `wideband` (16 kHz calls only): ' +
      'alone it bought commits with false commits at both rates; with `bargeIn.content.enabled` it pays at 16 kHz ' +
      'on the generated test half but costs a dev-set barge-in 128 ms of pause latency (README "Per rate").',
  ),
  shapeFigures: z.boolean().default(false).describe(
    'Compute the residual\'s telephone-band shape and coherence figures per frame (echo/spectralShape.ts; an extra ' +
      'transform per block). Measurement only (bench/bargein/spectral.ts turns it on): no decision reads them — on the ' +
      'corpus\'s tuning half they did not separate a callee under echo from residual echo (README "Barge-in").',
  ),
});

const Vad = z.strictObject({
  backend: z
    .enum(['silero-ort', 'sherpa-silero', 'sherpa-ten'])
    .default('silero-ort')
    .describe('VAD engine: Silero on onnxruntime batched over calls, or sherpa-onnx Silero / TEN VAD.'),
  tickMs: z.number().int().min(1).max(64).default(16).describe(
    'Longest a listen shard waits before its calls\' audio and ops go out (a completed VAD frame goes sooner).',
  ),
  threads: z.number().int().min(1).max(8).default(1).describe('onnxruntime threads per listen worker.'),
  rejectDtmf: z.boolean().default(true).describe(
    'A frame that is a touch-tone key (two DTMF tones carrying most of its energy) counts as silence, however the VAD ' +
      'scored it: keys pressed during a prompt neither pause nor interrupt it (README "Barge-in").',
  ),
  maxPendingSeconds: z.number().min(1).max(600).default(60).describe(
    'Inbound audio (seconds at 16 kHz, all of a shard\'s calls together) that may wait for a listen worker busy ' +
      'with its previous tick. Past it, the call whose audio would go over is ended with `listen_overloaded`: a ' +
      'worker that far behind has lost every budget already, and its backlog must not grow without bound.',
  ),
  graph: z.enum(['batched', 'original']).default('batched').describe(
    'silero-ort only. `batched`: the model rewritten so a batch of calls is one matrix product per layer (about a ' +
      'third of the CPU per frame; checked against the original at load, which is kept if they disagree). ' +
      '`original`: the model file as it is.',
  ),
  shards: z.number().int().min(1).max(32).optional().describe(
    'Listen workers (echo cancellation + VAD), calls spread over them. Unset: one per core.',
  ),
  warmUp: z.boolean().default(true).describe(
    'Before /readyz: a two-second synthetic call (prompt, echo, near-end bursts) through every listen worker at 16 and ' +
      '8 kHz, so the first calls after start do not pay for cold workers (first ONNX runs, uncompiled hot loops).',
  ),
});

const Asr = z.strictObject({
  model: z.string().default('zipformer-wenetspeech-kws-3.3m').describe(
    'Model id from models/manifest.json; empty = no recogniser (consent disabled).',
  ),
  mode: z
    .enum(['recognizer', 'kws'])
    .default('recognizer')
    .describe('Consent recognition: the streaming recogniser (default), or keyword spotting of the lexicon phrases.'),
  preRollMs: z.number().int().min(0).max(2000).default(400).describe(
    'Audio kept before the VAD onset so the first syllable is never clipped.',
  ),
  workers: z.number().int().min(1).max(8).optional().describe(
    'Recogniser worker threads, streams spread over them. Unset: one per core. The Mandarin model decodes one ' +
      'stream at a time, so one worker saturated a core at ~50 calls in consent windows (bench: consent p95 1046 ms ' +
      'at 125 calls with one worker, 405 ms with two on this 2-core machine).',
  ),
  threads: z.number().int().min(1).max(8).default(1).describe('Threads per recogniser worker.'),
  host: z.enum(['process', 'thread']).default('process').describe(
    'Where each recogniser worker runs. `process` (default): a helper process, so that a native abort in the ' +
      'recogniser (sherpa-onnx threw through C++ as a worker thread ended, README: Models) ends that worker, which is ' +
      'restarted, and not the gateway with every call; `thread`: a worker thread of the gateway (one copy fewer per ' +
      'message, one process fewer per worker).',
  ),
  search: z.enum(['greedy', 'beam', 'hotwords']).default('hotwords').describe(
    'Recogniser search. `hotwords` (default): modified beam search biased toward the phrases of the consent lexicon ' +
      '(consent, refusal, negation, questions …; `hotwordBoost` per token, the refusal side `refusalHotwordBoost`; ' +
      'consent phrases spanning a negator\'s place, 我同意, left to their cores); `greedy`: no search, no biasing; ' +
      '`beam`: beam search without biasing. Chosen by leave-one-source-out on natural voices (README, consent): ' +
      'higher recall than greedy at both rates and no false grant held out (greedy granted a misheard 否 at 16 kHz).',
  ),
  hotwordBoost: z.number().min(0).max(10).default(2).describe('Score added per hotword token in `hotwords` search.'),
  refusalHotwordBoost: z.number().min(0).max(10).default(3).describe(
    'Score added per token of the refusal side of the lexicon (refusals, negators, complaints) in `hotwords` search, ' +
      'instead of `hotwordBoost`: weighed above the consents, so that the bias never makes a short refusal (否) easier to ' +
      'hear as the yes it sounds nearest to (好) than as itself.',
  ),
  beamPaths: z.number().int().min(1).max(16).default(4).describe('Active paths of the beam searches.'),
  narrowbandBeamPaths: z.number().int().min(1).max(16).default(8).describe(
    'Active paths of the beam search on 8 kHz calls. When it differs from `beamPaths`, each worker holds a second ' +
      'recogniser of the same model (sherpa-onnx fixes the search per recogniser); equal to `beamPaths`: one. 8 ' +
      '(default): chosen per rate by cross-speaker folds (README, consent) — at 8 kHz more yeses and refusals held out ' +
      'and no false grant on either set; at 16 kHz 8 paths granted 你是谁 (espeak) as 是, so wideband keeps 4.',
  ),
});

/** One further hearing of an unplaced answer (consent.rehear). */
const Rehearing = z.strictObject({
  input: z.enum(['same', 'extended']).describe(
    'What the hearing hears: `same`, the answer\'s audio as it is; `extended`, with a 4–8 kHz band added — its 2–4 kHz ' +
      'band rectified and high-passed above 4.2 kHz (gateway/audio/bandwidth.ts; applied in the ASR worker), for ' +
      'narrowband answers whose upper band is empty.',
  ),
  shiftMs: z.number().int().min(-1000).max(1000).default(0).describe(
    'Where the hearing cuts the answer relative to the first, ms (negative: earlier, more of the ring buffer before the onset).',
  ),
  extensionDb: z.number().min(-40).max(20).default(0).describe(
    'Level of the band `input: extended` adds, dB relative to the rectified 2–4 kHz band.',
  ),
});

/**
 * The shipped further hearing of 8 kHz answers (consent.rehear.narrowband): band-extended from the first cut. A
 * second one from 160 ms earlier grants more over all natural sources (91.8 -> 93.4 %) but not held out by source
 * (91.7 %), and costs a decode and ~10-60 ms of decision time: configuration, not default (README, consent).
 */
const NARROWBAND_REHEARINGS: z.output<typeof Rehearing>[] = [{ input: 'extended', shiftMs: 0, extensionDb: 0 }];

const Consent = z.strictObject({
  windowMs: z.number().int().min(500).max(60000).default(8000).describe(
    'How long after expect_consent to wait for an answer before deciding `unclear`.',
  ),
  endSilenceMs: z.number().int().min(0).max(2000).default(160).describe(
    'Trailing silence (ms of inbound audio) that ends an answer utterance. Most of the decision time after the end ' +
      'of speech is this wait: with the hotword search, every cross-speaker fold of the offline replays chose 160 over ' +
      '240, and live 160 decided every natural answer as 240 did, ~100 ms sooner (p95 225 / 240 ms after the end of ' +
      'speech at 16 / 8 kHz); 128 lost yeses that a pause split (README, consent).',
  ),
  endThreshold: z.number().min(0).max(1).default(0.4).describe(
    'Speech probability below which a frame counts towards that trailing silence.',
  ),
  lexiconFile: z.string().optional().describe('Consent lexicon YAML replacing the built-in one (gateway/listen/consent/lexicon.*.yaml).'),
  minGrantConfidence: z.number().min(0).max(1).default(0.8).describe(
    'A `granted` whose consent phrase covers less of the heard answer than this confidence is reported `unclear`: ' +
      'a lone 是 inside a longer, misheard answer (你是谁 → "shì éi") must never count as a yes.',
  ),
  maxUnheardLeadMs: z.number().int().min(0).max(5000).default(400).describe(
    'A `granted` is reported `unclear` when more speech than this precedes the first recognised token: words the ' +
      'recogniser lost may be a negation or a question. Measured: true answers start ≤ 320 ms after the VAD onset.',
  ),
  maxUnheardGapMs: z.number().int().min(0).max(5000).default(400).describe(
    'The same inside the answer: a `granted` with a longer stretch between two recognised syllables is `unclear`.',
  ),
  minGrantSpeechMs: z.number().int().min(0).max(2000).default(96).describe(
    'A `granted` heard in less speech than this (VAD onset to end, ms) is reported `unclear`: a fragment the VAD cut ' +
      'off an answer is no answer, whatever the hotword search made of it (算了 heard 好好 / 是, 谁 heard 是, from 32–64 ms ' +
      'fragments). It depends only on the VAD\'s frames, not on where a loaded call cuts the audio: with it the ' +
      'hotword search made no false grant on natural voices at any of 28 cut placements (README, consent). 0 = off.',
  ),
  fragmentGrants: z.enum(['listen', 'unclear']).default('listen').describe(
    'What a grant from such a fragment (`minGrantSpeechMs`) decides. `listen` (default): nothing — it is speech too ' +
      'short to be an answer, like a cough, so the window keeps listening and the answer that follows decides (at ' +
      '8 kHz the VAD often marks a 32 ms fragment ahead of the answer: 算了 after a fragment heard 好好; 好 after a ' +
      'fragment heard 好). `unclear`: it ends the window unclear (costs 8 kHz granted recall 88.0 → 84.6 %, replay).',
  ),
  fragmentUnplaced: z.enum(['listen', 'unclear']).default('listen').describe(
    'What such a fragment (`minGrantSpeechMs`) decides when no hearing placed a lexicon phrase in it (the pre-roll and an ' +
      'onset heard as 你 / 谢谢). `listen` (default): an `unclear` held 600 ms — the answer that follows decides when it begins by then (at ' +
      '8 kHz the VAD splits a fricative onset off a yes: 行 as x + íng, 是 as sh + ì). `unclear`: it ends the window. ' +
      'Refusals, questions and hesitations from a fragment still decide. 8 kHz granted 91.8 → 92.5 % held out by source, ' +
      '16 kHz unchanged, no false grant (README, consent).',
  ),
  unplacedHold: z.enum(['fragment', 'unfinished', 'any']).default('unfinished').describe(
    'Which utterances nobody could place `fragmentUnplaced: listen` holds for what follows. `fragment`: those shorter ' +
      'than `minGrantSpeechMs`. `unfinished` (default): also any whose transcript ends in an initial without its final — ' +
      'the VAD ended speech inside a syllable at a pause within the answer (没问 t | 题), so the callee has not finished. ' +
      '`any`: every one (every unplaced answer then waits 600 ms for its `unclear`). The utterance that follows decides, ' +
      'its unheard lead counted from the held onset. Held out by source, 28 placements: granted 8 kHz 94.5 → 95.1 %, ' +
      '16 kHz 96.0 → 96.6 %, no false grant, refusals unchanged (`any`: 95.5 / 97.0 %, espeak p95 decision time 264 → ' +
      '851 ms). README, consent.',
  ),
  narrowbandVad: z.enum(['native', 'shared']).default('native').describe(
    'Where an 8 kHz call\'s consent utterances are cut. `native` (default): while a consent window is open, the listen ' +
      'worker also scores the call\'s 8 kHz echo-cancelled residual with Silero in its own 8 kHz mode (the same model ' +
      'file), and only the consent session takes its speech start / end from it; barge-in and `speech_*` events keep ' +
      'the shared VAD. `shared`: the call\'s one VAD, which scores the residual upsampled to 16 kHz and hears short ' +
      'fricative yeses (是, 行) as 32 ms fragments. 8 kHz granted 92.5 → 94.5 % held out by source offline, no false ' +
      'grant (README, consent). silero-ort only; 16 kHz calls are unaffected.',
  ),
  minGrantLogProb: z.number().min(-100).max(0).default(-100).describe(
    'A `granted` whose transcript holds a token the model gave a log-probability below this (its own score, without ' +
      'the hotword boost) is reported `unclear`. -100 = off.',
  ),
  secondOpinion: z.enum(['none', 'shifted', 'spotter', 'unbiased']).default('none').describe(
    'An engine decoding every answer beside the recogniser, in the same stream (the n-best). `shifted`: the same ' +
      'search on the answer cut `shiftMs` later (twice the CPU; its question or refusal also stops a grant, and a yes ' +
      'only it heard counts where the first placed nothing). `spotter`: the keyword spotter beside the recogniser (a ' +
      'refusal it hears wins; it never grants alone). `unbiased`: the same answer decoded beside the hotword search ' +
      'by greedy search, without any bias (a second decode: +18–20 ms CPU per audio second in consent windows, replay); ' +
      'its refusal or doubt stops a grant, and `corroborate` says what else a grant needs from it. `none` (default): ' +
      'nothing beside. A second hearing only of the answers the first could not place is `rehear`.',
  ),
  corroborate: z.enum(['none', 'agree', 'syllable', 'repeats']).default('none').describe(
    'What a grant of the (biased) recogniser needs from the second hearing (`secondOpinion` shifted or unbiased): ' +
      '`agree`, it grants too; `syllable`, it heard at least one syllable of the granting transcript (tone-blind: the ' +
      'bias may repair a tone or a final, not invent a word — 算了 heard 好好好 by the hotword search at 8 kHz); ' +
      '`repeats`, a grant of one repeated syllable (好好好) needs it to grant; `none`: only its refusals and doubts count.',
  ),
  rehear: z
    .strictObject({
      wideband: z.array(Rehearing).max(3).default([]).describe('The further hearings of 16 kHz calls\' answers, in order. Default: none.'),
      narrowband: z.array(Rehearing).max(3).default(NARROWBAND_REHEARINGS).describe(
        'The further hearings of 8 kHz calls\' answers, in order. The model, trained on wideband speech, hears a ' +
          'narrowband onset differently with the band filled (对 heard duō, 好 heard ó without it), and a cut 160 ms ' +
          'earlier differently again. Default: `extended` from the first cut (adding `extended` from 160 ms earlier ' +
          'grants more over all natural sources but not held out by source: README, consent).',
      ),
    })
    .prefault({})
    .describe(
      'Further hearings of an answer whose first hearing placed no lexicon phrase (words the recogniser could not ' +
        'place; not a refusal, question or hesitation): the same audio decoded again per entry — cut elsewhere, a ' +
        'chunked streaming model hears one answer differently at another cut; or transformed — every transcript ' +
        'weighed with the first\'s in one decision: a yes only such a hearing heard counts under every safety rule, a ' +
        'refusal any heard wins. Chosen per call rate; CPU only for the answers heard again. Recogniser mode only.',
    ),
  shiftMs: z.number().int().min(0).max(1000).default(160).describe(
    'Where `secondOpinion: shifted` cuts the answer, ms after the first decode\'s cut.',
  ),
  calibrationFile: z.string().optional().describe(
    'Calibration of the `confidence` field (bench/consent/calibrate.ts writes one; default: calibration.<language>.json beside the lexicon when present — none is bundled yet, so `confidence` is the classifier\'s match score).',
  ),
});

const Playout = z.strictObject({
  frameMs: z.literal(20).default(20).describe('Prompt frame length, ms (20: what telephony carries).'),
  lookaheadMs: z.number().int().min(0).max(1000).default(40).describe(
    'How far ahead of the playout clock prompt audio may be sent.',
  ),
  framesPerWrite: z.number().int().min(1).max(5).default(2).describe(
    'Prompt frames handed to the socket in one write. Each stays its own 20 ms message; grouping them halves the ' +
      'write syscalls and the loopback/TCP work behind each one, the largest single cost of the event loop at 250 ' +
      'calls. The price: the group\'s later frames leave up to (framesPerWrite − 1) × 20 ms earlier, so that much ' +
      'more audio can already be at the far end when a pause or barge-in stops sending. 1 = a write per frame.',
  ),
  maxSocketBufferBytes: z.number().int().min(4096).default(512 * 1024).describe(
    'Cap on audio bytes queued in one socket before the call is failed as a slow reader.',
  ),
});

const Limits = z.strictObject({
  maxMessageBytes: z.number().int().min(1024).default(3 * 1024 * 1024).describe(
    'Largest WebSocket/gRPC message and control-API body of the native protocol. A 60 s prompt (maxPromptMs) at ' +
      '16 kHz pcm16 is 2.56 MB of base64; nothing legitimate is larger. Twilio and Vonage streams have their own, ' +
      'far smaller cap (their messages are 20 ms of audio), applied before authentication.',
  ),
  maxStartMessageBytes: z.number().int().min(1024).default(64 * 1024).describe(
    'Largest text message a native WebSocket connection may send before its `start` is accepted (the only message ' +
      'it may send then; a `start` is a few hundred bytes), enforced while the frame is read (close 1009): a client ' +
      'that opens connections and sends multi-megabyte JSON never has it decoded and parsed on the event loop (a ' +
      '2.5 MiB message held it 16–43 ms; the soak\'s late calls followed those stalls, bench/PROFILE.md). Raised to ' +
      '`maxMessageBytes` once `start` is accepted. Set it to `maxMessageBytes` for the old behaviour.',
  ),
  deferMessageEvents: z.boolean().default(true).describe(
    'Handle each WebSocket message in its own turn of the event loop (ws `allowSynchronousEvents: false`), so that ' +
      'a connection whose socket delivers hundreds of small messages at once (a flood, up to `maxMessagesPerSecond` ' +
      '× 5 before it is cut off) cannot hold the loop for all of them while other calls\' audio and timers wait.',
  ),
  maxTelephonyMessageBytes: z.number().int().min(16 * 1024).max(4 * 1024 * 1024).default(64 * 1024).describe(
    'Largest message on the telephony platform streams (Twilio, Vonage, jambonz, FreeSWITCH, Asterisk, Exotel, Telnyx, Plivo): theirs are 20–200 ms of audio (a second of base64 μ-law is ~11 ' +
      'KB, of 16 kHz L16 32 KB) and small JSON. Enforced while a frame is read, so before Twilio\'s `start` ' +
      'authenticates.',
  ),
  maxInboundFrameMs: z.number().int().min(20).default(1000).describe('Longest inbound audio frame accepted, ms.'),
  maxPromptMs: z.number().int().min(1000).default(60000).describe('Longest prompt (inline audio or recorded), ms.'),
  maxUploadBytes: z.number().int().min(64 * 1024).default(20 * 1024 * 1024).describe(
    'Largest recorded-prompt upload (PUT /v1/prompts/:id): a minute of 24-bit 48 kHz stereo WAV is ~17 MB.',
  ),
  maxConcurrentUploads: z.number().int().min(1).max(64).default(2).describe(
    'Uploads decoded at once; more are refused with 429 before their body is read.',
  ),
  promptDecodeTimeoutMs: z.number().int().min(1000).max(120000).default(10000).describe(
    'ffmpeg is killed when decoding one upload takes longer than this.',
  ),
  maxQueuedPrompts: z.number().int().min(1).default(16).describe('Prompts one call may have queued.'),
  idleTimeoutMs: z.number().int().min(1000).default(30000).describe('A call with no inbound audio this long is ended (`idle_timeout`).'),
  startTimeoutMs: z.number().int().min(500).default(10000).describe('A connection that has not started its call this long after connecting is closed.'),
  maxCalls: z
    .number()
    .int()
    .min(1)
    .default(() => 64 * availableParallelism())
    .meta({
      defaultText: '64 per core',
      description:
        'Calls at once; more are refused with `capacity`. Default 64 per core: the bench held 125–150 full-pipeline ' +
        'calls (VAD, barge-in, consent recognition) within every budget on 2 cores, and 300 with VAD and barge-in ' +
        'only. Set it from your own bench run (`npm run bench -- --ramp`) on the production machine.',
    }),
  maxCallMs: z.number().int().min(1000).default(60 * 60_000).describe(
    'Longest a call may last, ms; past it the call ends with `max_duration`.',
  ),
  maxConnections: z.number().int().min(1).optional().describe(
    'TCP connections to the HTTP/WebSocket port at once (calls, event streams, control requests); past it they ' +
      'are closed at once. Default: 4 per call + 64.',
  ),
  maxPendingEventStreams: z.number().int().min(1).default(1000).describe(
    'Event streams waiting for a call that has not started yet (`?wait=`), all callers together; more get 503.',
  ),
  requestTimeoutMs: z.number().int().min(1000).default(30_000).describe(
    'Longest an HTTP request (headers and body) may take to arrive; a client trickling it is answered 408 and ' +
      'closed.',
  ),
  headersTimeoutMs: z.number().int().min(1000).default(10_000).describe(
    'Longest the headers of a request (or WebSocket upgrade) may take to arrive.',
  ),
  maxInboundRatio: z.number().min(1).max(100).default(1.5).describe(
    'Inbound audio may arrive at most this much faster than real time, over the long run; a call above it is ' +
      'ended with `audio_too_fast`. Telephony delivers at 1×; the margin covers clock drift and catching up after ' +
      'jitter.',
  ),
  inboundBurstMs: z.number().int().min(100).max(60000).default(3000).describe(
    'Inbound audio that may arrive ahead of that rate at once (network jitter, audio held during admission), ms.',
  ),
  maxMessagesPerSecond: z.number().int().min(10).default(200).describe(
    'Messages one connection may send per second, on the WebSocket wires and gRPC (five seconds\' worth at once). ' +
      'A call sends 50 audio frames a second and a few commands; past this the connection is closed ' +
      '(`rate_limited`).',
  ),
  maxInboundBytesPerSecond: z.number().int().min(64 * 1024).default(1024 * 1024).describe(
    'Bytes one connection may send per second over the long run; twice `maxMessageBytes` may come at once (a ' +
      '`play` with a long prompt). Audio is 32 KB/s; upload recorded prompts once rather than sending them on every ' +
      'call.',
  ),
});

const Ops = z.strictObject({
  logBufferBytes: z.number().int().min(64 * 1024).default(4 * 1024 * 1024).describe(
    'Log bytes waiting for stdout; past it lines are dropped and counted (earshot_log_lines_dropped_total).',
  ),
  maxUncaughtPerMinute: z.number().int().min(0).default(5).describe(
    'Uncaught exceptions tolerated in a minute (each logged, the process serving on); one more drains and exits.',
  ),
  heapGrowingPercent: z.number().int().min(0).max(1000).default(0).describe(
    'How far V8 lets the old generation grow past what the last full collection kept, in per cent (200: to three ' +
      'times); 0: V8\'s own heuristics, which on a loaded gateway run a full collection every second. 200 made them ' +
      'one every ~20 s in the soak but grew RSS past its 20 % bar (bench/PROFILE.md, "GC").',
  ),
  workerOldSpaceMb: z.number().int().min(0).max(4096).default(48).describe(
    'Where V8 first collects the old generation of each worker thread\'s heap (listen shards, recognisers), MB; ' +
      'set before the workers start, the main thread keeps V8\'s own. V8 starts a full collection whenever the ' +
      'headroom under that limit is below four young generations, so a listen shard (~10 MB alive) was fully ' +
      'collected every ~3 s; at 48, about a quarter as often (bench/PROFILE.md, "GC in the listen workers"). 0: V8\'s own.',
  ),
  warmUpCalls: z.number().int().min(0).max(64).default(16).describe(
    'Before /readyz: this many synthetic calls (half 16 kHz, half 8 kHz) run for four seconds through the call path ' +
      'itself — inbound audio, the barge-in policy, the playout — so V8 has compiled it before the first real calls ' +
      '(in the soak, the calls of the first two seconds were the late ones). Never registered: no feature, record or ' +
      'webhook sees them; /metrics counts them under wire="warm-up". 0: off.',
  ),
  duplicateSignalMs: z.number().int().min(0).max(10000).default(1000).describe(
    'The same signal again within this long is a copy (a process group\'s wrapper forwarding it), not a second ' +
      'one.',
  ),
});

const Events = z.strictObject({
  replayEvents: z.number().int().min(100).max(1_000_000).default(10_000).describe(
    'Events of all calls together kept for `GET /v1/events` to resume after (`Last-Event-ID`), newest first.',
  ),
  replayPerCall: z.number().int().min(16).max(100_000).default(512).describe(
    'Events of one call kept for its event stream to resume after; a longer call keeps its newest.',
  ),
  endedRetentionMs: z.number().int().min(0).max(24 * 3600_000).default(600_000).describe(
    'How long an ended call\'s events stay resumable (a dialer that restarts reconnects with `Last-Event-ID`).',
  ),
  endedReplayBytes: z.number().int().min(64 * 1024).default(16 * 1024 * 1024).describe(
    'Bytes of ended calls\' events kept, all together; past it the longest-ended call goes first.',
  ),
  maxStreams: z.number().int().min(1).max(10_000).default(64).describe(
    'Streams of every call\'s events (`GET /v1/events`) open at once; more get 503.',
  ),
});

/** The `policy` section, plus the clock the policy feature runs on. */
const Policy = PolicyConfigSchema.extend({
  clock: z
    .string()
    .refine((c) => c === 'system' || (c.startsWith('fixed:') && Number.isFinite(Date.parse(c.slice(6)))), 'expected "system" or "fixed:<ISO 8601 time>"')
    .optional()
    .describe('`system` (default), or `fixed:<ISO 8601 time>`: a frozen policy clock for tests and replays.'),
});

export const ConfigSchema = z.strictObject({
  host: z.string().default('0.0.0.0').describe('Address the HTTP/WebSocket server binds.'),
  port: z.number().int().min(0).max(65535).default(8080).describe('HTTP/WebSocket port; 0: ephemeral.'),
  apiToken: z
    .string()
    .optional()
    .describe('Bearer token every request and upgrade needs except /healthz and /readyz; unset: open, logged loudly.'),
  modelsDir: z.string().optional().describe('Where models are looked for first, then models/ and ../shared/models.'),
  dataDir: z.string().default('.earshot').describe('Databases, evidence audio, recorded prompts, prompt cache.'),
  shutdownGraceMs: z.number().int().min(0).default(10000).describe('On SIGTERM, how long running calls may go on before they are ended.'),
  vad: Vad.prefault({}).describe('Voice activity detection in the listen workers.'),
  bargeIn: BargeIn.prefault({}).describe('Barge-in thresholds (per call: `start.bargeIn`).'),
  echo: Echo.prefault({}).describe('Echo cancellation of our own prompts.'),
  asr: Asr.prefault({}).describe('Speech recognition for consent.'),
  consent: Consent.prefault({}).describe('Consent decision windows and rules.'),
  playout: Playout.prefault({}).describe('Prompt audio pacing.'),
  limits: Limits.prefault({}).describe('Bounds on calls, messages and prompts.'),
  ops: Ops.prefault({}).describe('Logging and process behaviour.'),
  tts: TtsConfigSchema.prefault({}).describe('Speech synthesis engines and the prompt cache.'),
  scripts: ScriptsConfigSchema.prefault({}).describe('What calls may say and play (approved scripts, scripts/README.md).'),
  policy: Policy.prefault({}).describe('Outbound-calling rules (gateway/policy/README.md).'),
  evidence: EvidenceConfigSchema.prefault({}).describe('Consent evidence store (gateway/evidence/README.md).'),
  wires: WiresConfigSchema.prefault({}).describe('Telephony wires (docs/protocol.md, proto/README.md).'),
  database: DatabaseConfigSchema.prefault({}).describe('Shared PostgreSQL for a fleet (README: running a fleet); unset: SQLite.'),
  fleet: FleetConfigSchema.prefault({}).describe('This instance in the call directory (used with `database.url`).'),
  events: Events.prefault({}).describe('Event ids, resumable event streams and the stream of every call (`GET /v1/events`).'),
  tracing: TracingConfigSchema.prefault({}).describe('Optional OpenTelemetry traces of calls, exported over OTLP/HTTP (README.md, Observability).'),
  webhooks: WebhooksConfigSchema.prefault({}).describe('Signed webhooks from a durable outbox (README.md, Webhooks).'),
});

export type Config = z.infer<typeof ConfigSchema>;
export type BargeInConfig = z.infer<typeof BargeIn>;
export type EchoConfig = z.infer<typeof Echo>;

export class ConfigError extends Error {}

/** Environment variables and the key each sets. They win over the configuration file; overrides (tests) win over both. */
export const ENV: Record<string, { path: string[]; type: 'int' | 'string' | 'float' | 'bool' | 'list'; emptyAllowed?: boolean }> = {
  EARSHOT_PORT: { path: ['port'], type: 'int' },
  EARSHOT_HOST: { path: ['host'], type: 'string' },
  EARSHOT_API_TOKEN: { path: ['apiToken'], type: 'string' },
  EARSHOT_MODELS_DIR: { path: ['modelsDir'], type: 'string' },
  EARSHOT_DATA_DIR: { path: ['dataDir'], type: 'string' },
  EARSHOT_VAD_BACKEND: { path: ['vad', 'backend'], type: 'string' },
  EARSHOT_VAD_SHARDS: { path: ['vad', 'shards'], type: 'int' },
  EARSHOT_VAD_GRAPH: { path: ['vad', 'graph'], type: 'string' },
  EARSHOT_ASR_MODEL: { path: ['asr', 'model'], type: 'string', emptyAllowed: true },
  EARSHOT_ASR_MODE: { path: ['asr', 'mode'], type: 'string' },
  EARSHOT_ASR_WORKERS: { path: ['asr', 'workers'], type: 'int' },
  EARSHOT_CONSENT_WINDOW_MS: { path: ['consent', 'windowMs'], type: 'int' },
  EARSHOT_LOOKAHEAD_MS: { path: ['playout', 'lookaheadMs'], type: 'int' },
  EARSHOT_FRAMES_PER_WRITE: { path: ['playout', 'framesPerWrite'], type: 'int' },
  EARSHOT_MAX_CALLS: { path: ['limits', 'maxCalls'], type: 'int' },
  EARSHOT_MAX_CALL_MS: { path: ['limits', 'maxCallMs'], type: 'int' },
  EARSHOT_MAX_CONNECTIONS: { path: ['limits', 'maxConnections'], type: 'int' },
  EARSHOT_MAX_INBOUND_RATIO: { path: ['limits', 'maxInboundRatio'], type: 'float' },
  EARSHOT_INBOUND_BURST_MS: { path: ['limits', 'inboundBurstMs'], type: 'int' },
  EARSHOT_MAX_UPLOAD_BYTES: { path: ['limits', 'maxUploadBytes'], type: 'int' },
  EARSHOT_SHUTDOWN_GRACE_MS: { path: ['shutdownGraceMs'], type: 'int' },
  EARSHOT_LOG_BUFFER_BYTES: { path: ['ops', 'logBufferBytes'], type: 'int' },
  EARSHOT_HEAP_GROWING_PERCENT: { path: ['ops', 'heapGrowingPercent'], type: 'int' },
  EARSHOT_WORKER_OLD_SPACE_MB: { path: ['ops', 'workerOldSpaceMb'], type: 'int' },
  EARSHOT_WARM_UP_CALLS: { path: ['ops', 'warmUpCalls'], type: 'int' },
  EARSHOT_MAX_UNCAUGHT_PER_MINUTE: { path: ['ops', 'maxUncaughtPerMinute'], type: 'int' },
  EARSHOT_AUDIOSOCKET_PORT: { path: ['wires', 'audiosocketPort'], type: 'int' },
  EARSHOT_AUDIOSOCKET_HOST: { path: ['wires', 'audiosocketHost'], type: 'string' },
  EARSHOT_AUDIOSOCKET_ALLOW: { path: ['wires', 'audiosocketAllow'], type: 'list' },
  EARSHOT_GRPC_PORT: { path: ['wires', 'grpcPort'], type: 'int' },
  EARSHOT_GRPC_HOST: { path: ['wires', 'grpcHost'], type: 'string' },
  EARSHOT_GRPC_TLS_CERT: { path: ['wires', 'grpcTlsCert'], type: 'string' },
  EARSHOT_GRPC_TLS_KEY: { path: ['wires', 'grpcTlsKey'], type: 'string' },
  EARSHOT_GRPC_TLS_CLIENT_CA: { path: ['wires', 'grpcTlsClientCa'], type: 'string' },
  EARSHOT_TWILIO_AUTH_TOKEN: { path: ['wires', 'twilioAuthToken'], type: 'string' },
  EARSHOT_TWILIO_PUBLIC_URL: { path: ['wires', 'twilioPublicUrl'], type: 'string' },
  EARSHOT_TWILIO_TRUST_FORWARDED_HOST: { path: ['wires', 'twilioTrustForwardedHost'], type: 'bool' },
  EARSHOT_DATABASE_URL: { path: ['database', 'url'], type: 'string' },
  EARSHOT_DATABASE_POOL_SIZE: { path: ['database', 'poolSize'], type: 'int' },
  EARSHOT_INSTANCE_ID: { path: ['fleet', 'instanceId'], type: 'string' },
  EARSHOT_ADVERTISE_URL: { path: ['fleet', 'advertiseUrl'], type: 'string' },
  EARSHOT_WEBHOOK_URL: { path: ['webhooks', 'url'], type: 'string' },
  EARSHOT_WEBHOOK_SECRET: { path: ['webhooks', 'secret'], type: 'string' },
};

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]] = value;
}

function parseEnvValue(name: string, raw: string, type: string): unknown {
  if (type === 'string') return raw;
  if (type === 'list') return raw.split(',').map((x) => x.trim()).filter(Boolean);
  if (type === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a boolean (use true/false)`);
  }
  const n = type === 'int' ? Number.parseInt(raw, 10) : Number.parseFloat(raw);
  if (!Number.isFinite(n) || (type === 'int' && String(n) !== raw.trim())) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not ${type === 'int' ? 'an integer' : 'a number'}`);
  }
  return n;
}

/** Builds the configuration; `overrides` (tests, bench) win over file and environment. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Record<string, unknown> = {},
): Config {
  let raw: Record<string, unknown> = {};
  const file = env.EARSHOT_CONFIG;
  if (file) {
    const p = resolve(file);
    if (!existsSync(p)) throw new ConfigError(`EARSHOT_CONFIG points at ${p}, which does not exist`);
    try {
      raw = (YAML.parse(readFileSync(p, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`cannot parse ${p}: ${(e as Error).message}`);
    }
  }
  for (const [name, spec] of Object.entries(ENV)) {
    const v = env[name];
    // Empty means unset, except where empty is a meaningful value (EARSHOT_ASR_MODEL= disables recognition).
    if (v !== undefined && (v !== '' || spec.emptyAllowed)) setPath(raw, spec.path, parseEnvValue(name, v, spec.type));
  }
  raw = deepMerge(raw, overrides);
  // A gateway on an ephemeral HTTP port (tests, bench) gets ephemeral wire ports too unless they are set, so that
  // gateways running side by side do not fight over 9092/50051.
  const wires = raw.wires ?? {};
  if (raw.port === 0 && typeof wires === 'object' && !Array.isArray(wires)) {
    raw.wires = { audiosocketPort: 0, grpcPort: 0, ...wires };
  }
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}
