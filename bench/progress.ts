// One progress line: rewritten in place on a TTY, a plain line every 5 s otherwise (CI logs).
export class Progress {
  private lastPrint = 0;
  private readonly tty = !!process.stdout.isTTY;

  update(text: string): void {
    if (this.tty) process.stdout.write(`\r${text.slice(0, (process.stdout.columns ?? 120) - 1).padEnd(Math.min(119, (process.stdout.columns ?? 120) - 1))}`);
    else if (Date.now() - this.lastPrint >= 5000) {
      this.lastPrint = Date.now();
      process.stdout.write(`${text}\n`);
    }
  }

  done(): void {
    if (this.tty) process.stdout.write('\n');
  }
}
