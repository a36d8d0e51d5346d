// Wire registry. Adding a wire = one file exporting a `Wire` plus one line here.
import type { Wire } from './types.js';
import { wsWire } from './ws.js';

const WIRES: Record<string, Wire> = { ws: wsWire };
/** Wires the bench knows of but has no client for yet, with what is needed to add one. */
const PLANNED: Record<string, string> = {
  twilio: 'Twilio Media Streams (JSON media events, μ-law 8 kHz base64, clear/mark)',
  audiosocket: 'Asterisk AudioSocket (TCP type-length-value, slin 8 kHz)',
  grpc: 'earshot gRPC streaming (proto/earshot/v1)',
};

export function getWire(name: string): Wire {
  const w = WIRES[name];
  if (w) return w;
  if (name in PLANNED) {
    throw new Error(
      `--wire ${name}: no bench client for ${PLANNED[name]} yet. Add bench/wires/${name}.ts exporting a Wire ` +
        `(see bench/wires/types.ts) and register it in bench/wires/index.ts. Available: ${Object.keys(WIRES).join(', ')}`,
    );
  }
  throw new Error(`--wire ${name}: unknown wire (available: ${Object.keys(WIRES).join(', ')}; planned: ${Object.keys(PLANNED).join(', ')})`);
}
