// Where the wires with their own listeners ended up (port 0 in tests = ephemeral).
import type { Gateway } from '../Gateway.js';

const ports = new WeakMap<Gateway, { audiosocket?: number; grpc?: number }>();

export function setWirePort(gw: Gateway, wire: 'audiosocket' | 'grpc', port: number | undefined): void {
  ports.set(gw, { ...ports.get(gw), [wire]: port });
}

export function wirePorts(gw: Gateway): { audiosocket?: number; grpc?: number } {
  return ports.get(gw) ?? {};
}
