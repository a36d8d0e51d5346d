// Options measured to help at one wire rate and not at the other (README "Barge-in") are on for every call, off, or
// on for wideband (16 kHz) calls only. Apart from config.ts so that the listen workers can read one without loading
// the whole configuration schema.

export type PerRateSetting = boolean | 'wideband';

/** Whether a per-rate option is on for a call (or a canceller) at `rate` Hz. */
export function onAtRate(setting: PerRateSetting, rate: number): boolean {
  return setting === true || (setting === 'wideband' && rate >= 16000);
}
