import net from 'node:net';

// A TCP proxy between relinks and PostgreSQL, so a test can take the database away from one
// server (and give it back) while the shared PostgreSQL keeps serving every other test.

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private open = 0;
  private breakWhen: ((chunk: Buffer) => boolean) | undefined;
  private stallWhen: ((chunk: Buffer) => boolean) | undefined;
  /** Most connections open at the same time since start. */
  peak = 0;
  /** Connections killed by `breakNext`. */
  broken = 0;
  /** Connections frozen by `stallNext`. */
  stalled = 0;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** The database becomes unreachable: open connections are reset and new ones refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The database is back, on the same address. */
  async restore(): Promise<void> {
    await this.start();
  }

  /** The next chunk a client sends that matches kills its connection pair instead of reaching the database. */
  breakNext(matches: (chunk: Buffer) => boolean): void {
    this.breakWhen = matches;
  }

  /**
   * The next chunk a client sends that matches is swallowed, and from then on that connection pair
   * carries nothing either way while staying open: a network that drops packets without a reset.
   */
  stallNext(matches: (chunk: Buffer) => boolean): void {
    this.stallWhen = matches;
  }

  async close(): Promise<void> {
    await this.cut();
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.open += 1;
    this.peak = Math.max(this.peak, this.open);
    this.sockets.add(client);
    this.sockets.add(upstream);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.open -= 1;
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    let stalled = false;
    client.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (this.stallWhen?.(chunk)) {
        this.stallWhen = undefined;
        this.stalled += 1;
        stalled = true;
        return;
      }
      if (this.breakWhen?.(chunk)) {
        this.breakWhen = undefined;
        this.broken += 1;
        close();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }
}
