// deploy/: the compose file and the Kubernetes manifests read as a fleet that works with this gateway — every
// EARSHOT_* variable they set is one the gateway reads, the drain fits inside the grace period before SIGKILL, the
// probes and the load balancer's check hit the endpoints that mean what they rely on, and the pieces name each other
// (selectors, scale target, backends, scrape targets). No cluster or Docker here: what can be checked from the files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ENV } from '../gateway/config.js';
import { KEY_ENV } from '../gateway/evidence/keyFile.js';
import { PROJECT_ROOT } from '../gateway/models.js';

const DEPLOY = join(PROJECT_ROOT, 'deploy');
const read = (f: string) => readFileSync(join(DEPLOY, f), 'utf8');
// Manifests are untyped documents: read as such, checked by the assertions below.
type Doc = any;
const yaml = (f: string): Doc => YAML.parse(read(f), { merge: true });

/** Variables the gateway reads besides the configuration table. */
const OTHER_VARS = new Set([KEY_ENV, 'EARSHOT_CONFIG', 'EARSHOT_LOG_LEVEL']);

function unknownVars(names: string[]): string[] {
  return names.filter((n) => n.startsWith('EARSHOT_') && !(n in ENV) && !OTHER_VARS.has(n));
}

describe('deploy/docker-compose.yml', () => {
  const compose = yaml('docker-compose.yml');
  const gateways = Object.entries(compose.services as Record<string, Doc>).filter(([, s]) => s.environment?.EARSHOT_DATABASE_URL);

  it('runs PostgreSQL, two gateways on it, a load balancer and Prometheus', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'haproxy', 'prometheus']));
    expect(gateways.map(([n]) => n)).toHaveLength(2);
    for (const [, g] of gateways) expect(g.environment.EARSHOT_DATABASE_URL).toMatch(/^postgres:\/\/earshot:.*@postgres:5432\/earshot$/);
  });

  it('gives every gateway its own instance id, advertised address and data volume, and the fleet one evidence key', () => {
    const ids = gateways.map(([, g]) => g.environment.EARSHOT_INSTANCE_ID);
    expect(new Set(ids).size).toBe(2);
    for (const [name, g] of gateways) {
      expect(g.environment.EARSHOT_ADVERTISE_URL).toBe(`http://${name}:8080`);
      expect(g.environment[KEY_ENV]).toMatch(/\$\{EARSHOT_EVIDENCE_KEY/);
      expect(unknownVars(Object.keys(g.environment)), name).toEqual([]);
    }
    expect(new Set(gateways.map(([, g]) => g.volumes.find((v: string) => v.endsWith(':/data')))).size).toBe(2);
  });

  it('lets a stopping gateway drain: stop_grace_period longer than shutdownGraceMs', () => {
    for (const [name, g] of gateways) {
      expect(Number.parseInt(g.stop_grace_period, 10) * 1000, name).toBeGreaterThan(Number(g.environment.EARSHOT_SHUTDOWN_GRACE_MS));
    }
  });

  it('HAProxy checks /readyz on exactly those gateways; Prometheus scrapes them', () => {
    const cfg = read('haproxy.cfg');
    expect(cfg).toMatch(/option httpchk GET \/readyz/);
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):8080 check$/gm)].map((m) => m[2]);
    expect(servers.sort()).toEqual(gateways.map(([n]) => n).sort());
    const prom = yaml('prometheus.yml');
    expect(prom.scrape_configs[0].static_configs[0].targets.sort()).toEqual(gateways.map(([n]) => `${n}:8080`).sort());
  });
});

describe('deploy/k8s', () => {
  const dep = yaml('k8s/deployment.yaml');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries((c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));

  it('sets only variables the gateway reads, the advertised address from the pod IP', () => {
    expect(unknownVars(Object.keys(env))).toEqual([]);
    expect(env.EARSHOT_ADVERTISE_URL).toBe('http://$(POD_IP):8080');
    for (const k of ['EARSHOT_DATABASE_URL', 'EARSHOT_API_TOKEN', KEY_ENV]) expect(Object.keys(env)).toContain(k);
  });

  it('drains in preStop, within a termination grace longer than shutdownGraceMs', () => {
    expect(c.lifecycle.preStop.exec.command.join(' ')).toMatch(/\/v1\/drain'?, \{method: 'POST'/);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env.EARSHOT_SHUTDOWN_GRACE_MS));
  });

  it('probes readiness on /readyz and liveness on /healthz', () => {
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
  });

  it('PodDisruptionBudget, Service and HorizontalPodAutoscaler point at this Deployment; the HPA scales on active calls below maxCalls', () => {
    const labels = dep.spec.template.metadata.labels;
    expect(yaml('k8s/pdb.yaml').spec.selector.matchLabels).toEqual(labels);
    expect(yaml('k8s/service.yaml').spec.selector).toEqual(labels);
    const hpa = yaml('k8s/hpa.yaml');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: dep.metadata.name });
    const m = hpa.spec.metrics[0].pods;
    expect(m.metric.name).toBe('earshot_active_calls');
    expect(Number(m.target.averageValue)).toBeLessThan(Number(env.EARSHOT_MAX_CALLS));
    const resources = yaml('k8s/kustomization.yaml').resources;
    expect(resources).toEqual(expect.arrayContaining(['deployment.yaml', 'service.yaml', 'pdb.yaml', 'hpa.yaml']));
  });

  it('exposes only ports that listen beyond loopback by default', () => {
    expect(c.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([8080]);
  });
});
