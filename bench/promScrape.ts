// Reads the gateway's event-loop lag from its Prometheus endpoint. prom-client's default metrics export
// `nodejs_eventloop_lag_p99_seconds`; the gateway may register them under a prefix, so we match by suffix.
export interface LagSample {
  wall: number;
  p99Ms: number | null;
  maxMs: number | null;
}

export function parseLag(text: string): { p99Ms: number | null; maxMs: number | null } {
  const find = (suffix: string): number | null => {
    const re = new RegExp(`^\\w*${suffix}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)`, 'm');
    const m = re.exec(text);
    return m ? Number(m[1]) * 1000 : null;
  };
  return { p99Ms: find('eventloop_lag_p99_seconds'), maxMs: find('eventloop_lag_max_seconds') };
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
      const lag = parseLag(await r.text());
      if (lag.p99Ms === null && lag.maxMs === null) {
        this.available ??= false;
        return;
      }
      this.available = true;
      this.samples.push({ wall: performance.now(), ...lag });
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
