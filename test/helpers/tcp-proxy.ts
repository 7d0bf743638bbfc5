import net from 'node:net';

// A TCP proxy between relinks and PostgreSQL, so a test can take the database away from one
// server (and give it back) while the shared PostgreSQL keeps serving every other test.
//
// To cut a connection under one statement, it reads the messages the client sends (PostgreSQL's
// frontend protocol, unencrypted) and knows which SQL each chunk runs: the text of a simple Query,
// or for an Execute the text of the statement bound to its portal. A named statement sends its
// text only once per connection, in its Parse; later runs bind it by name, so the proxy keeps,
// per connection, each name's text.

/** A message is a type byte and an Int32 length that counts itself, not the type byte. */
const HEADER = 5;
// Codes of the untyped requests that may precede the startup message (SSL, GSSAPI encryption).
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

const cString = (body: Buffer, at: number): [string, number] => {
  const end = body.indexOf(0, at);
  return [body.toString('utf8', at, end), end + 1];
};

/** Follows one connection's frontend messages, which may be split over chunks or share one. */
class FrontendReader {
  private pending = Buffer.alloc(0);
  private startup = true;
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, string>();

  /** Once the bytes make no sense as messages (e.g. TLS after an SSLRequest was accepted), none are read. */
  private opaque = false;

  private giveUp(): string[] {
    this.opaque = true;
    this.pending = Buffer.alloc(0);
    return [];
  }

  /** The SQL texts of the statements that the messages completed by `chunk` run. */
  read(chunk: Buffer): string[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const runs: string[] = [];
    for (;;) {
      if (this.opaque) return runs;
      if (this.startup) {
        if (this.pending.length < 8) break;
        const length = this.pending.readInt32BE(0);
        if (length < 8) return this.giveUp();
        if (this.pending.length < length) break;
        const code = this.pending.readInt32BE(4);
        this.startup = code === SSL_REQUEST || code === GSSENC_REQUEST;
        this.pending = this.pending.subarray(length);
        continue;
      }
      if (this.pending.length < HEADER) break;
      const end = 1 + this.pending.readInt32BE(1);
      if (end < HEADER) return this.giveUp();
      if (this.pending.length < end) break;
      const run = this.message(this.pending[0], this.pending.subarray(HEADER, end));
      if (run !== undefined) runs.push(run);
      this.pending = this.pending.subarray(end);
    }
    return runs;
  }

  private message(type: number, body: Buffer): string | undefined {
    switch (String.fromCharCode(type)) {
      case 'Q':
        return cString(body, 0)[0];
      case 'P': {
        const [name, at] = cString(body, 0);
        this.statements.set(name, cString(body, at)[0]);
        return undefined;
      }
      case 'B': {
        const [portal, at] = cString(body, 0);
        this.portals.set(portal, this.statements.get(cString(body, at)[0]) ?? '');
        return undefined;
      }
      case 'E':
        return this.portals.get(cString(body, 0)[0]) ?? '';
      case 'C': {
        const [name] = cString(body, 1);
        (body[0] === 0x53 ? this.statements : this.portals).delete(name);
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private open = 0;
  private breakWhen: ((sql: string) => boolean) | undefined;
  private stallWhen: ((sql: string) => boolean) | undefined;
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

  /**
   * The next chunk a client sends that runs a statement whose SQL matches kills its connection pair
   * instead of reaching the database, so the statement never runs.
   */
  breakNext(matches: (sql: string) => boolean): void {
    this.breakWhen = matches;
  }

  /**
   * The next chunk a client sends that runs a statement whose SQL matches is swallowed, and from
   * then on that connection pair carries nothing either way while staying open: a network that
   * drops packets without a reset.
   */
  stallNext(matches: (sql: string) => boolean): void {
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
    const reader = new FrontendReader();
    client.on('data', (chunk: Buffer) => {
      if (stalled) return;
      const runs = reader.read(chunk);
      const stallWhen = this.stallWhen;
      const breakWhen = this.breakWhen;
      if (stallWhen && runs.some(stallWhen)) {
        this.stallWhen = undefined;
        this.stalled += 1;
        stalled = true;
        return;
      }
      if (breakWhen && runs.some(breakWhen)) {
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
