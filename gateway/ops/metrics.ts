// Prometheus metrics for the whole process (prom-client). Latencies are recorded per call too, in call_summary.
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

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
  callsTotal: new client.Counter({ name: 'earshot_calls_total', help: 'Calls by outcome', labelNames: ['wire', 'outcome'], registers: [registry] }),
  errors: new client.Counter({ name: 'earshot_call_errors_total', help: 'Errors sent to clients, by code', labelNames: ['code'], registers: [registry] }),
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
  pauseLatencyMs: new client.Histogram({
    name: 'earshot_bargein_pause_latency_ms',
    help: 'Inbound-audio ms from detected speech onset to prompt pause',
    buckets: [16, 32, 48, 64, 96, 128, 160, 200, 300, 500],
    registers: [registry],
  }),
  commitLatencyMs: new client.Histogram({
    name: 'earshot_bargein_commit_latency_ms',
    help: 'Inbound-audio ms from detected speech onset to barge-in commit',
    buckets: [200, 300, 400, 450, 500, 600, 800, 1000, 1500],
    registers: [registry],
  }),
  stopSeconds: new client.Histogram({
    name: 'earshot_bargein_stop_seconds',
    help: 'Wall time from the pause/barge-in decision to the last prompt frame sent after it (0 when none was)',
    buckets: [0, 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.1],
    registers: [registry],
  }),
  bargeIns: new client.Counter({ name: 'earshot_bargeins_total', help: 'Barge-in actions', labelNames: ['action'], registers: [registry] }),
  promptFirstAudioSeconds: new client.Histogram({
    name: 'earshot_prompt_first_audio_seconds',
    help: 'Wall time from a play/say request to its first frame leaving',
    labelNames: ['source'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [registry],
  }),
};
