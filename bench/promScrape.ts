// Reads the gateway's event-loop lag from its Prometheus endpoint. prom-client's default metrics export
// `nodejs_eventloop_lag_p99_seconds`; the gateway may register them under a prefix, so we match by suffix.
export interface LagSample {
  wall: number;
  /** The median lag over the scrape interval (prom-client resets its histogram at each collect). */
  p50Ms?: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Cumulative seconds of the gateway's listen workers, when it exports them (earshot does; peers do not). */
  stages?: StageSeconds | null;
}

export interface StageSeconds {
  /** CPU of the listen worker threads (echo cancellation + VAD), summed over shards. */
  listenCpu: number;
  /** Time in VAD model inference. */
  vad: number;
  /** Time in echo cancellation and framing. */
  echo: number;
}

/** Sums earshot's listen-stage counters over their labels; null when the endpoint has none. */
export function parseStages(text: string): StageSeconds | null {
  const sum = (name: string, label?: string): number | null => {
    const re = new RegExp(`^${name}(\\{[^}]*\\})?\\s+([0-9.eE+-]+)`, 'gm');
    let total: number | null = null;
    for (const m of text.matchAll(re)) {
      if (label && !(m[1] ?? '').includes(label)) continue;
      total = (total ?? 0) + Number(m[2]);
    }
    return total;
  };
  const listenCpu = sum('earshot_listen_worker_cpu_seconds_total');
  if (listenCpu === null) return null;
  return { listenCpu, vad: sum('earshot_listen_stage_seconds_total', 'stage="vad"') ?? 0, echo: sum('earshot_listen_stage_seconds_total', 'stage="echo"') ?? 0 };
}

export function parseLag(text: string): { p50Ms: number | null; p99Ms: number | null; maxMs: number | null } {
  const find = (suffix: string): number | null => {
    const re = new RegExp(`^\\w*${suffix}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)`, 'm');
    const m = re.exec(text);
    return m ? Number(m[1]) * 1000 : null;
  };
  return { p50Ms: find('eventloop_lag_p50_seconds'), p99Ms: find('eventloop_lag_p99_seconds'), maxMs: find('eventloop_lag_max_seconds') };
}

export class LagScraper {
  readonly samples: LagSample[] = [];
  available: boolean | null = null;
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly metricsUrl: string) {}

  async scrape(): Promise<void> {
    try {
      const r = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(2000) });
      if (r.status !== 200) return;
      const text = await r.text();
      const lag = parseLag(text);
      if (lag.p99Ms === null && lag.maxMs === null) {
        this.available ??= false;
        return;
      }
      this.available = true;
      this.samples.push({ wall: performance.now(), ...lag, stages: parseStages(text) });
    } catch {
      /* a scrape lost under load is not a result */
    }
  }

  start(): void {
    void this.scrape();
    this.timer = setInterval(() => void this.scrape(), 2000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
