// Progress on stderr, only when stderr is a terminal: long loads and writes of 100 MB–2 GB models
// say what they are doing; pipelines and redirected output see nothing.

export class Progress {
  private readonly enabled: boolean;
  private readonly start = Date.now();
  private lastDraw = 0;
  private open = false;

  constructor(wanted: boolean, stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = wanted && !!stream.isTTY;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  private draw(text: string): void {
    const secs = ((Date.now() - this.start) / 1000).toFixed(1);
    this.stream.write(`\r\x1b[2K[${secs}s] ${text}`);
    this.open = true;
  }

  note(text: string): void {
    if (this.enabled) this.draw(`${text}…`);
  }

  bytes(what: string, done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const mb = (v: number) => (v / 1048576).toFixed(0);
    this.draw(`${what} ${mb(done)}/${mb(total)} MB (${Math.floor((100 * done) / Math.max(1, total))}%)`);
  }

  done(): void {
    if (this.enabled && this.open) this.stream.write('\r\x1b[2K');
    this.open = false;
  }
}
