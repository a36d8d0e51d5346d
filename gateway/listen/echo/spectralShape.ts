// How much of a frame's residual has the shape of our own echo. Residual echo is what the adaptive filter failed to
// remove: a scaled copy, band by band, of the filter's echo estimate, so its magnitude spectrum follows the
// estimate's (the prompt's harmonics and formants). A callee talking over the prompt adds a spectrum of their own —
// another pitch, other formants — that no scaling of the estimate explains. The energy sums the echo gate uses
// (excess over expected echo + noise) cannot see that difference when the callee is no louder than the expected
// echo; the shape can. Over the telephone band (300–3400 Hz) with per-bin magnitudes r = √|E|², y = √|Y|²:
//   fit = Σ r·y / √(Σ r² · Σ y²)   (cosine similarity, 0…1)
//   unexplained = 1 − fit²          (share of the residual's band power left after removing the best a·y)
// The canceller sums Σ r·y, Σ r², Σ y² over a frame's blocks (BlockFilter), so this costs a square root per bin.

/**
 * A frame's (or block's) telephone-band figures, only with `echo.shapeFigures` (measurement: no decision reads them;
 * README "Barge-in"), else 0: Σ residual power, Σ echo-estimate power, Σ √(residual·estimate), bins above the gate's
 * margin, bins; Σ residual power not coherent with the echo estimate and Σ microphone–residual coherence over bins
 * (BlockFilter, smoothed over the last blocks).
 */
export interface ShapeFigures {
  bandRes: number;
  bandEst: number;
  bandCross: number;
  overBins: number;
  bandBins: number;
  incoherent: number;
  cohDe: number;
}

/** Cosine similarity of the residual's and the echo estimate's magnitude spectra (0 when either is silent). */
export function spectralFit(cross: number, res: number, est: number): number {
  if (!(res > 0) || !(est > 0)) return 0;
  const f = cross / Math.sqrt(res * est);
  return f > 1 ? 1 : f < 0 ? 0 : f;
}

/** Share of the residual's band power that no scaled copy of the echo estimate's magnitude spectrum explains. */
export function unexplainedShare(cross: number, res: number, est: number): number {
  const f = spectralFit(cross, res, est);
  return 1 - f * f;
}
