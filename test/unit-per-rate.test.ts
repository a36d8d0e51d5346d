// Options measured per wire rate (gateway/perRate.ts): `wideband` is on for 16 kHz calls and cancellers only.
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import { onAtRate } from '../gateway/perRate.js';

describe('onAtRate', () => {
  it('true and false hold at both rates; wideband only at 16 kHz', () => {
    expect([onAtRate(true, 8000), onAtRate(true, 16000)]).toEqual([true, true]);
    expect([onAtRate(false, 8000), onAtRate(false, 16000)]).toEqual([false, false]);
    expect([onAtRate('wideband', 8000), onAtRate('wideband', 16000)]).toEqual([false, true]);
  });

  it('the robust canceller is off and content decisions on by default; both take wideband', () => {
    const d = ConfigSchema.parse({});
    expect([d.echo.robustFilter, d.bargeIn.content.enabled]).toEqual([false, true]);
    const wide = ConfigSchema.parse({ echo: { robustFilter: 'wideband' }, bargeIn: { content: { enabled: 'wideband' } } });
    expect([wide.echo.robustFilter, wide.bargeIn.content.enabled]).toEqual(['wideband', 'wideband']);
    expect(() => ConfigSchema.parse({ echo: { robustFilter: 'narrowband' } })).toThrow();
  });
});
