// The load generator's WebSocket clients mask with an all-zero key: ws then skips the XOR and the copy it needs
// for every 20 ms frame (~7 % of a generator process at 100 calls, profiled). The frames stay valid WebSocket
// frames (MASK bit set, key 0) and the gateway unmasks them as any other. RFC 6455 wants an unpredictable key from
// browsers, against cache poisoning of intermediaries; a bench on loopback has none, and the generator's CPU is
// taken from the gateway on a shared machine.
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
