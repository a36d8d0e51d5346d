// Prometheus metrics for the whole process (prom-client). Latencies are recorded per call too, in call_summary.
// Names follow Prometheus conventions: base units (`_seconds`), counters end in `_total`; test/ops-metrics.test.ts
// lints a live scrape with promtool and these rules.
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

/** What the capacity gauge reads at scrape time; the gateway sets it (calls in progress, limits.maxCalls). */
export const capacitySource: { get: (() => { active: number; max: number }) | null } = { get: null };

export const metrics = {
  logLinesDropped: new client.Counter({
    name: 'earshot_log_lines_dropped_total',
    help: 'Log lines not written: full (the stdout reader is not keeping up) or dead (stdout is gone)',
    labelNames: ['reason'],
    registers: [registry],
  }),
  processErrors: new client.Counter({
    name: 'earshot_process_errors_total',
    help: 'Errors that reached the process level: uncaught exceptions and unhandled rejections',
    labelNames: ['kind'],
    registers: [registry],
  }),
  activeCalls: new client.Gauge({ name: 'earshot_active_calls', help: 'Calls in progress', labelNames: ['wire'], registers: [registry] }),
  // --- fleet (issue #15) ---
  capacityRatio: new client.Gauge({
    name: 'earshot_capacity_ratio',
    help: 'Calls in progress / limits.maxCalls (1 = full: /readyz answers 503); for autoscaling',
    registers: [registry],
    collect() {
      const c = capacitySource.get?.();
      if (c) this.set(c.max > 0 ? c.active / c.max : 0);
    },
  }),
  admissionSeconds: new client.Histogram({
    name: 'earshot_admission_seconds',
    help: 'Time a call start spends in admission, per feature (fleet: the call directory claim; policy: do-not-call, hours, caps; scripts) and in all',
    labelNames: ['feature'],
    buckets: [0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  }),
  admissionStoreSeconds: new client.Histogram({
    name: 'earshot_admission_store_seconds',
    help: 'Time the frequency-cap check-and-record of one call start takes at the policy store (the database round trip)',
    labelNames: ['engine'],
    buckets: [0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  }),
  forwardSeconds: new client.Histogram({
    name: 'earshot_forward_seconds',
    help: 'Control requests forwarded to the instance holding the call: time to that instance\'s response headers',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  }),
  callsTotal: new client.Counter({ name: 'earshot_calls_total', help: 'Calls by outcome', labelNames: ['wire', 'outcome'], registers: [registry] }),
  errors: new client.Counter({ name: 'earshot_call_errors_total', help: 'Errors sent to clients, by code', labelNames: ['code'], registers: [registry] }),
  discardedMessages: new client.Counter({
    name: 'earshot_messages_discarded_total',
    help: 'WebSocket messages read from a connection after it was cut off or closed, and dropped (a flood that goes on after its answer)',
    labelNames: ['wire'],
    registers: [registry],
  }),
  inboundFrameSeconds: new client.Histogram({
    name: 'earshot_inbound_frame_processing_seconds',
    help: 'Main-thread time to decode, resample and hand one inbound frame to its listen worker',
    buckets: [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01],
    registers: [registry],
  }),
  vadFrameLatency: new client.Histogram({
    name: 'earshot_vad_frame_latency_seconds',
    help: 'Wall time from the audio completing a 32 ms frame reaching the main thread to its verdict coming back',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5],
    registers: [registry],
  }),
  vadBatchFrames: new client.Histogram({
    name: 'earshot_vad_batch_frames',
    help: 'Frames scored per inference request',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  }),
  vadComputeSeconds: new client.Histogram({
    name: 'earshot_vad_compute_seconds',
    help: 'Inference time of one VAD request in the worker',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [registry],
  }),
  listenCpuSeconds: new client.Counter({
    name: 'earshot_listen_worker_cpu_seconds_total',
    help: 'CPU time of each listen worker thread (echo cancellation, VAD framing and inference), from /proc',
    labelNames: ['shard'],
    registers: [registry],
  }),
  listenStageSeconds: new client.Counter({
    name: 'earshot_listen_stage_seconds_total',
    help: 'Time the listen workers spent per stage: echo (cancellation and framing) and vad (model inference)',
    labelNames: ['stage'],
    registers: [registry],
  }),
  pauseLatencySeconds: new client.Histogram({
    name: 'earshot_bargein_pause_latency_seconds',
    help: 'Inbound-audio time from detected speech onset to prompt pause (budget: bench/budgets.json pauseMs)',
    // 0.15 is the budget: the le="0.15" bucket over the count is the share within it.
    buckets: [0.016, 0.032, 0.048, 0.064, 0.096, 0.128, 0.15, 0.2, 0.3, 0.5],
    registers: [registry],
  }),
  commitLatencySeconds: new client.Histogram({
    name: 'earshot_bargein_commit_latency_seconds',
    help: 'Inbound-audio time from detected speech onset to barge-in commit (budget: bargeInMs)',
    buckets: [0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.8, 1, 1.5],
    registers: [registry],
  }),
  stopSeconds: new client.Histogram({
    name: 'earshot_bargein_stop_seconds',
    help: 'Wall time from the pause/barge-in decision to the last prompt frame sent after it (0 when none was; budget: stopMs)',
    buckets: [0, 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.1],
    registers: [registry],
  }),
  // Three counters rather than one with an action label: pauses, resumes and commits are not parts of a whole
  // (a commit follows a pause), so a sum over the label would mean nothing.
  bargeInPauses: new client.Counter({
    name: 'earshot_bargein_pauses_total',
    help: 'Prompts paused because the callee seemed to start speaking',
    registers: [registry],
  }),
  bargeInResumes: new client.Counter({
    name: 'earshot_bargein_pauses_resumed_total',
    help: 'Paused prompts resumed: silence returned before a barge-in was committed (backchannel, cough, a short word)',
    registers: [registry],
  }),
  bargeIns: new client.Counter({
    name: 'earshot_bargeins_total',
    help: 'Barge-ins committed: the callee kept talking and the prompt was cancelled',
    registers: [registry],
  }),
  promptFirstAudioSeconds: new client.Histogram({
    name: 'earshot_prompt_first_audio_seconds',
    help: 'Wall time from a play/say request to its first frame leaving (budget: firstAudioMs)',
    labelNames: ['source'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [registry],
  }),
  consentDecisions: new client.Counter({
    name: 'earshot_consent_decisions_total',
    help: 'Consent decisions by outcome (granted, refused, unclear) and whether the answer was a complaint',
    labelNames: ['decision', 'complaint'],
    registers: [registry],
  }),
  consentDecisionSeconds: new client.Histogram({
    name: 'earshot_consent_decision_seconds',
    help: 'Inbound-audio time from the end of the answer (VAD end of speech) to its consent decision (budget: consentMs)',
    buckets: [0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 2, 5],
    registers: [registry],
  }),
  callsRejected: new client.Counter({
    name: 'earshot_calls_rejected_total',
    help: 'Call starts refused, by reason (do_not_call, calling_hours, frequency_cap, capacity, shutting_down, …)',
    labelNames: ['reason'],
    registers: [registry],
  }),
  listenWorkerUp: new client.Gauge({
    name: 'earshot_listen_worker_up',
    help: 'Listen worker (echo cancellation + VAD) health per shard: 1 serving, 0 failed (its calls ended; a replacement is loading, or was given up on)',
    labelNames: ['shard'],
    registers: [registry],
  }),
  listenWorkerFailures: new client.Counter({
    name: 'earshot_listen_worker_failures_total',
    help: 'Listen workers that failed (an uncaught error, a tick that threw, an exit): each ended the calls on its shard',
    labelNames: ['shard'],
    registers: [registry],
  }),
  asrWorkerUp: new client.Gauge({
    name: 'earshot_asr_worker_up',
    help: 'Recogniser worker health: 1 serving, 0 down (restarting, or given up: its calls get no recognition)',
    labelNames: ['worker'],
    registers: [registry],
  }),
  asrWorkerDeaths: new client.Counter({
    name: 'earshot_asr_worker_deaths_total',
    help: 'Recogniser workers that ended unasked, by why: exited (a crash, a native abort) or stalled (ended by the watchdog)',
    labelNames: ['reason'],
    registers: [registry],
  }),
  // Webhooks (#17): defined with the other call outcomes so dashboards and alerts can name them now.
  webhookDeliveries: new client.Counter({
    name: 'earshot_webhook_deliveries_total',
    help: 'Webhook deliveries the receiver acknowledged (2xx), by event type',
    labelNames: ['event'],
    registers: [registry],
  }),
  webhookFailures: new client.Counter({
    name: 'earshot_webhook_delivery_failures_total',
    help: 'Failed webhook delivery attempts (every retry counts), by event type and cause: http_3xx (redirects are not followed), http_4xx, http_5xx, timeout, network',
    labelNames: ['event', 'cause'],
    registers: [registry],
  }),
  webhookDeadLetters: new client.Counter({
    name: 'earshot_webhook_dead_letters_total',
    help: 'Webhook events given up on after the last retry (dead-lettered; replayable from the admin API)',
    labelNames: ['event'],
    registers: [registry],
  }),
  // A receiver that is down shows here first (failures climb only as retries fall due, with backoff up to 30 s).
  webhookPending: new client.Gauge({
    name: 'earshot_webhook_outbox_pending',
    help: 'Webhook events waiting in the outbox for delivery or a retry (counted by the dispatcher at most once a second; with PostgreSQL, the fleet\'s shared outbox)',
    registers: [registry],
  }),
};
