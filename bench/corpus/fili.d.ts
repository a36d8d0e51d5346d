// The part of `fili` (no bundled types) that the generator uses: Butterworth cascade design.
declare module 'fili' {
  interface CascadeParams { order: number; characteristic: 'butterworth' | 'bessel'; Fs: number; Fc: number }
  interface Stage { a: number[]; b: number[]; k: number }
  class CalcCascades {
    lowpass(p: CascadeParams): Stage[];
    highpass(p: CascadeParams): Stage[];
  }
  const Fili: { CalcCascades: typeof CalcCascades };
  export default Fili;
}
