// Silero VAD v5 rewritten so that a batch of calls costs what one large matrix product costs.
//
// Why: onnxruntime's CPU Conv runs image by image. Silero's convolutions see 4 time steps or fewer per frame, so a
// batch of 150 calls turns into 150 tiny GEMMs per layer, and a batched frame costs ~40 µs however many calls share
// the run (measured here: 40 µs at batch 48, 39 at 150). Written as "unfold the time steps, then one MatMul whose
// rows are every call's every time step", the same weights cost ~12 µs per frame at batch 48 and more.
//
// What changes: (1) the model's top-level `If` on `sr` is replaced by its 16 kHz branch (earshot always scores
// 16 kHz audio, and the input `sr` goes away); (2) every 1-D Conv becomes Pad → time-step slices → Concat → MatMul →
// Add → Transpose, in the same [batch, channels, time] layout, so every other node is untouched. Same sums in a
// different order: probabilities agree with the original to ~1e-6. `SileroOrt` checks the two graphs against each
// other when it loads and keeps the original if they ever disagree.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;
type Graph = onnxProto.onnx.IGraphProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const INT_ATTR = onnx.AttributeProto.AttributeType.INT;
const INTS_ATTR = onnx.AttributeProto.AttributeType.INTS;
const END = 2 ** 31 - 1; // Slice "to the end"

/** Rewrites Silero VAD v5 bytes for batched scoring at 16 kHz. Throws, naming what it did not expect. */
export function batchedSileroGraph(model: Uint8Array, rate = 16000): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const g = m.graph;
  if (!g?.node) throw new Error('no graph');
  inlineRate(g, rate);
  const rewriter = new ConvRewriter(g);
  g.node = g.node.flatMap((n) => (n.opType === 'Conv' ? rewriter.replace(n) : [n]));
  if (rewriter.count === 0) throw new Error('no Conv found');
  g.initializer = [...(g.initializer ?? []), ...rewriter.initializers];
  dropUnusedConstants(g);
  return onnx.ModelProto.encode(m).finish();
}

/** Replaces `If(Equal(sr, C))` by the branch that `sr = rate` takes, and removes the `sr` input. */
function inlineRate(g: Graph, rate: number): void {
  const nodes = g.node!;
  const producer = new Map<string, Node>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const ifNode = nodes.find((n) => {
    if (n.opType !== 'If') return false;
    const eq = producer.get(n.input?.[0] ?? '');
    return eq?.opType === 'Equal' && eq.input?.includes('sr');
  });
  if (!ifNode) throw new Error("no top-level If on the input 'sr'");
  const eq = producer.get(ifNode.input![0])!;
  const constName = eq.input!.find((i) => i !== 'sr')!;
  const c = producer.get(constName);
  const t = c?.opType === 'Constant' ? c.attribute?.find((a) => a.name === 'value')?.t : undefined;
  if (!t) throw new Error('the sample-rate test does not compare with a constant');
  const taken = Number(int64s(t)[0]) === rate ? 'then_branch' : 'else_branch';
  const branch = ifNode.attribute?.find((a) => a.name === taken)?.g;
  if (!branch?.node || !branch.output) throw new Error(`If has no ${taken}`);
  const inlined: Node[] = [...branch.node];
  branch.output.forEach((o, i) =>
    inlined.push(onnx.NodeProto.create({ opType: 'Identity', name: `inlined_out_${i}`, input: [o.name!], output: [ifNode.output![i]] })),
  );
  g.node = nodes.flatMap((n) => (n === ifNode ? inlined : n === eq || n === c ? [] : [n]));
  g.initializer = [...(g.initializer ?? []), ...(branch.initializer ?? [])];
  const stillUsed = g.node.some((n) => n.input?.includes('sr'));
  if (stillUsed) throw new Error("'sr' is used outside the rate test");
  g.input = (g.input ?? []).filter((i) => i.name !== 'sr');
}

class ConvRewriter {
  readonly initializers: Tensor[] = [];
  count = 0;
  private readonly constants = new Map<string, Tensor>();
  private uid = 0;

  constructor(g: Graph) {
    for (const n of g.node ?? []) {
      const t = n.opType === 'Constant' ? n.attribute?.find((a) => a.name === 'value')?.t : undefined;
      if (t) this.constants.set(n.output![0], t);
    }
    for (const t of g.initializer ?? []) this.constants.set(t.name!, t);
  }

  replace(n: Node): Node[] {
    const attr = (name: string) => n.attribute?.find((a) => a.name === name);
    const ints = (name: string, d: number[]) => attr(name)?.ints?.map(Number) ?? d;
    const w = this.constants.get(n.input![1]);
    if (!w) throw new Error(`${n.name}: weights are not a constant`);
    const [co, ci, k] = (w.dims ?? []).map(Number);
    if (w.dims?.length !== 3) throw new Error(`${n.name}: not a 1-D convolution`);
    if (Number(attr('group')?.i ?? 1) !== 1) throw new Error(`${n.name}: grouped convolution`);
    if (ints('dilations', [1]).some((d) => d !== 1)) throw new Error(`${n.name}: dilated convolution`);
    if ((attr('auto_pad')?.s?.length ?? 0) > 0 && String.fromCharCode(...attr('auto_pad')!.s!) !== 'NOTSET') {
      throw new Error(`${n.name}: auto_pad`);
    }
    const stride = ints('strides', [1])[0];
    const [padBegin, padEnd] = ints('pads', [0, 0]);
    const weights = floats(w);
    const bias = n.input![2] ? floats(this.constants.get(n.input![2]) ?? fail(`${n.name}: bias is not a constant`)) : new Float32Array(co);
    // Row j·ci + c of the unfolded input meets weight [·, c, j].
    const unfoldedWeights = new Float32Array(k * ci * co);
    for (let o = 0; o < co; o++) for (let c = 0; c < ci; c++) for (let j = 0; j < k; j++) unfoldedWeights[(j * ci + c) * co + o] = weights[(o * ci + c) * k + j];
    const out: Node[] = [];
    const x = n.input![0];
    let unfolded: string;
    if (ci === 1 && k % stride === 0) {
      // The STFT layer (one channel, 256 taps, hop 128): time steps are whole hops, so unfold by reshaping into
      // hops and pairing neighbours, not by 256 one-sample slices.
      const padded = padBegin || padEnd ? this.node(out, 'Pad', [x, this.i64([0, 0, padBegin, 0, 0, padEnd])]) : x;
      const hops = this.node(out, 'Reshape', [padded, this.i64([0, -1, stride])]);
      const per = k / stride;
      const parts = Array.from({ length: per }, (_, j) => this.slice(out, hops, j, j - (per - 1), 1, 1));
      unfolded = per === 1 ? parts[0] : this.node(out, 'Concat', parts, { axis: 2 });
    } else {
      const timeMajor = this.node(out, 'Transpose', [x], { perm: [0, 2, 1] });
      const padded = padBegin || padEnd ? this.node(out, 'Pad', [timeMajor, this.i64([0, padBegin, 0, 0, padEnd, 0])]) : timeMajor;
      const parts = Array.from({ length: k }, (_, j) => this.slice(out, padded, j, j - (k - 1), 1, stride));
      unfolded = k === 1 ? parts[0] : this.node(out, 'Concat', parts, { axis: 2 });
    }
    const product = this.node(out, 'MatMul', [unfolded, this.f32(unfoldedWeights, [k * ci, co])]);
    const biased = this.node(out, 'Add', [product, this.f32(bias, [co])]);
    out.push(this.make('Transpose', [biased], [n.output![0]], { perm: [0, 2, 1] }));
    this.count++;
    return out;
  }

  /** Steps start, start+step, … up to `end` (≤ 0: counted from the end, 0 meaning the end itself) on one axis. */
  private slice(out: Node[], x: string, start: number, end: number, axis: number, step: number): string {
    return this.node(out, 'Slice', [x, this.i64([start]), this.i64([end === 0 ? END : end]), this.i64([axis]), this.i64([step])]);
  }

  private node(out: Node[], op: string, input: string[], attrs: Record<string, number | number[]> = {}): string {
    const name = `batched_${op}_${this.uid++}`;
    out.push(this.make(op, input, [name], attrs));
    return name;
  }

  private make(op: string, input: string[], output: string[], attrs: Record<string, number | number[]> = {}): Node {
    const attribute = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v) ? onnx.AttributeProto.create({ name, ints: v, type: INTS_ATTR }) : onnx.AttributeProto.create({ name, i: v, type: INT_ATTR }),
    );
    return onnx.NodeProto.create({ opType: op, name: `batched_${op}_${this.uid++}`, input, output, attribute });
  }

  private f32(data: Float32Array, dims: number[]): string {
    return this.init(FLOAT, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dims);
  }

  private i64(values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    return this.init(INT64, new Uint8Array(data.buffer), [values.length]);
  }

  private init(dataType: number, rawData: Uint8Array, dims: number[]): string {
    const name = `batched_const_${this.uid++}`;
    this.initializers.push(onnx.TensorProto.create({ name, dataType, dims, rawData }));
    return name;
  }
}

/** Constants only the replaced Convs read (weights now unfolded into initializers): onnxruntime warns about each. */
function dropUnusedConstants(g: Graph): void {
  const used = new Set<string>();
  const collect = (graph: Graph) => {
    for (const n of graph.node ?? []) {
      for (const i of n.input ?? []) used.add(i);
      for (const a of n.attribute ?? []) if (a.g) collect(a.g);
    }
    for (const o of graph.output ?? []) used.add(o.name!);
  };
  collect(g);
  g.node = g.node!.filter((n) => n.opType !== 'Constant' || n.output!.some((o) => used.has(o)));
}

function floats(t: Tensor): Float32Array {
  if (t.dataType !== FLOAT) throw new Error(`${t.name}: not float32`);
  if (t.rawData?.length) return new Float32Array(aligned(t.rawData));
  return Float32Array.from(t.floatData ?? []);
}

function int64s(t: Tensor): bigint[] {
  if (t.rawData?.length) return [...new BigInt64Array(aligned(t.rawData))];
  return (t.int64Data ?? []).map((v) => BigInt(v.toString()));
}

/** A copy in a fresh ArrayBuffer: decoded bytes may be a view into a shared, unaligned buffer. */
function aligned(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

function fail(message: string): never {
  throw new Error(message);
}
