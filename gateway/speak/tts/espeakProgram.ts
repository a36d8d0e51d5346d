// One espeak-ng run: text in, the WAV it writes out. Runs in the programs helper process (programs.ts), never in the
// gateway's: starting a program from the gateway forks the whole gateway.
import { spawn } from 'node:child_process';

export function espeakWav(bin: string, voice: string, speed: number, text: string): Promise<Uint8Array> {
  return new Promise((resolveP, rejectP) => {
    // Text goes through stdin, never the command line: no quoting issues and no argument injection.
    const p = spawn(bin, ['-v', voice, '-s', String(speed), '--stdout'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', (e) => rejectP(new Error(`cannot run ${bin}: ${e.message} (install the espeak-ng package)`)));
    p.on('close', (code) => {
      if (code === 0) resolveP(new Uint8Array(Buffer.concat(out)));
      else rejectP(new Error(`${bin} exited with ${code}: ${err.trim()}`));
    });
    p.stdin.on('error', () => undefined); // espeak-ng gone before reading: its exit code says why
    p.stdin.end(text);
  });
}
