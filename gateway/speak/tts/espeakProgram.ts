// One espeak-ng run: text in, the WAV it writes out. Runs in the programs helper process (programs.ts), never in the
// gateway's: starting a program from the gateway forks the whole gateway.
import { spawn } from 'node:child_process';

export interface EspeakLimits {
  /** Killed after this long: one sentence takes espeak-ng tens of ms; a hung one must not hold its prompt forever. */
  timeoutMs: number;
  /** Killed once its WAV grows past this: a sentence is seconds of speech, and the helper holds the output whole. */
  maxBytes: number;
}

/** 10 s per sentence; 8 MiB of WAV is over three minutes at espeak-ng's 22,050 Hz, far past any prompt. */
export const ESPEAK_LIMITS: EspeakLimits = { timeoutMs: 10_000, maxBytes: 8 * 1024 * 1024 };

export function espeakWav(bin: string, voice: string, speed: number, text: string, limits: EspeakLimits = ESPEAK_LIMITS): Promise<Uint8Array> {
  return new Promise((resolveP, rejectP) => {
    // Text goes through stdin, never the command line: no quoting issues and no argument injection.
    const p = spawn(bin, ['-v', voice, '-s', String(speed), '--stdout'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    let killedFor: string | null = null;
    const kill = (why: string) => {
      if (killedFor) return;
      killedFor = why;
      p.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`took longer than ${limits.timeoutMs} ms`), limits.timeoutMs);
    p.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > limits.maxBytes) return kill(`wrote more than ${limits.maxBytes} bytes`);
      out.push(b);
    });
    // Only its first words are kept: they say why it failed.
    p.stderr.on('data', (b: Buffer) => err.length < 2000 && (err += b.toString()));
    p.on('error', (e) => {
      clearTimeout(timer);
      rejectP(new Error(`cannot run ${bin}: ${e.message} (install the espeak-ng package)`));
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (killedFor) rejectP(new Error(`${bin} was stopped: it ${killedFor}`));
      else if (code === 0) resolveP(new Uint8Array(Buffer.concat(out)));
      else rejectP(new Error(`${bin} exited with ${code}: ${err.trim().slice(0, 500)}`));
    });
    p.stdin.on('error', () => undefined); // espeak-ng gone before reading: its exit code says why
    p.stdin.end(text);
  });
}
