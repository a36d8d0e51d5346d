// Serves docs/openapi.yaml, the HTTP API's description, as JSON at GET /openapi.json. Behind the token like the rest
// of the API: the one rule "everything but the health probes needs the token" stays true, and the people who may
// call the API are the ones who hold it. Read and converted once at start-up; test/ops-openapi.test.ts keeps the
// document and the registered routes in step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../models.js';
import type { Logger } from './log.js';
import { sendJson, type Router } from './http.js';

export const OPENAPI_FILE = join(PROJECT_ROOT, 'docs', 'openapi.yaml');

export function registerOpenApi(router: Router, log: Logger, file = OPENAPI_FILE): void {
  let body: string | null = null;
  try {
    body = JSON.stringify(YAML.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    log.warn({ err: (e as Error).message, file }, 'API description unavailable: GET /openapi.json answers 503');
  }
  router.add('GET', '/openapi.json', (_q, res) => {
    if (body === null) return sendJson(res, 503, { error: 'openapi_unavailable', message: `${file} could not be read` });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}
