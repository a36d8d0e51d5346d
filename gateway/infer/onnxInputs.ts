// Reads the declared graph inputs of an ONNX file with a minimal protobuf walk, without onnxruntime.
// Two reasons: (1) whether an encoder's batch dimension is fixed (a model exported with batch 1 aborts the whole
// process inside sherpa-onnx if several streams are decoded together), and (2) a garbage or truncated model file
// makes sherpa-onnx's native code call std::terminate — uncatchable even in a worker thread — so files are
// structurally checked here first and rejected with a readable error. onnxruntime-node is not used because its addon
// cannot be loaded again in a thread after a thread that loaded it has ended, and ASR workers restart.
import { readFileSync } from 'node:fs';

export interface OnnxInput {
  name: string;
  /** Per dimension: a fixed size, a symbolic name, or null when the file leaves it unset. */
  dims: (number | string | null)[];
}

class Reader {
  constructor(
    private readonly b: Uint8Array,
    public pos: number,
    private readonly end: number,
    private readonly what: string,
  ) {}
  more(): boolean {
    return this.pos < this.end;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error(`${this.what}: truncated varint at byte ${this.pos}`);
      const c = this.b[this.pos++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
    throw new Error(`${this.what}: malformed varint at byte ${this.pos}`);
  }
  /** Returns [field, wireType, start, end] of the next field; LEN payload bounds in start/end. */
  next(): { field: number; wire: number; start: number; end: number; value: number } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new Error(`${this.what}: field number 0 at byte ${this.pos} (not a protobuf file)`);
    if (wire === 0) return { field, wire, start: 0, end: 0, value: this.varint() };
    if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (this.pos + n > this.end) throw new Error(`${this.what}: truncated fixed field at byte ${this.pos}`);
      this.pos += n;
      return { field, wire, start: 0, end: 0, value: 0 };
    }
    if (wire === 2) {
      const len = this.varint();
      const start = this.pos;
      if (start + len > this.end) throw new Error(`${this.what}: field ${field} runs past the end of its message (truncated file?)`);
      this.pos += len;
      return { field, wire, start, end: start + len, value: len };
    }
    throw new Error(`${this.what}: invalid wire type ${wire} at byte ${this.pos} (not an ONNX file)`);
  }
  sub(start: number, end: number): Reader {
    return new Reader(this.b, start, end, this.what);
  }
}

const utf8 = new TextDecoder();

/** Declared graph inputs of an ONNX model; throws with the file name when the file is not a well-formed ONNX model. */
export function readOnnxInputs(path: string): OnnxInput[] {
  const b = readFileSync(path);
  const what = `ONNX model ${path}`;
  const top = new Reader(b, 0, b.length, what);
  let graph: Reader | null = null;
  let sawIrVersion = false;
  while (top.more()) {
    const f = top.next();
    if (f.field === 1 && f.wire === 0) sawIrVersion = true;
    if (f.field === 7 && f.wire === 2) graph = top.sub(f.start, f.end);
  }
  if (!sawIrVersion || !graph) throw new Error(`${what}: no ir_version or graph (not an ONNX model, or damaged)`);
  const inputs: OnnxInput[] = [];
  while (graph.more()) {
    const f = graph.next();
    if (f.field !== 11 || f.wire !== 2) continue;
    const vi = graph.sub(f.start, f.end);
    const input: OnnxInput = { name: '', dims: [] };
    while (vi.more()) {
      const g = vi.next();
      if (g.field === 1 && g.wire === 2) input.name = utf8.decode(b.subarray(g.start, g.end));
      if (g.field !== 2 || g.wire !== 2) continue;
      const type = vi.sub(g.start, g.end);
      while (type.more()) {
        const t = type.next();
        if (t.field !== 1 || t.wire !== 2) continue; // tensor_type
        const tensor = type.sub(t.start, t.end);
        while (tensor.more()) {
          const s = tensor.next();
          if (s.field !== 2 || s.wire !== 2) continue; // shape
          const shape = tensor.sub(s.start, s.end);
          while (shape.more()) {
            const d = shape.next();
            if (d.field !== 1 || d.wire !== 2) continue;
            const dim = shape.sub(d.start, d.end);
            let v: number | string | null = null;
            while (dim.more()) {
              const x = dim.next();
              if (x.field === 1 && x.wire === 0) v = x.value;
              if (x.field === 2 && x.wire === 2) v = utf8.decode(b.subarray(x.start, x.end));
            }
            input.dims.push(v);
          }
        }
      }
    }
    inputs.push(input);
  }
  return inputs;
}

/** 'fixed' when the first input's leading dimension is a literal size (1 for the exported-with-batch-1 models). */
export function batchDimension(path: string): { kind: 'fixed'; size: number } | { kind: 'dynamic' | 'unknown' } {
  const first = readOnnxInputs(path)[0];
  const d = first?.dims[0];
  if (typeof d === 'number' && d > 0) return { kind: 'fixed', size: d };
  if (typeof d === 'string' || (typeof d === 'number' && d <= 0)) return { kind: 'dynamic' };
  return { kind: 'unknown' };
}
