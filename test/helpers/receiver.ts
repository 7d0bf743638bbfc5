import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

// A webhook receiver the tests start: it keeps every request it gets (headers as sent, body as
// bytes) and answers as the test says: a status and body, or never (`hang`), per request.

export interface Received {
  method: string;
  url: string;
  /** Header names as they came on the wire, lower-cased by Node. */
  headers: http.IncomingHttpHeaders;
  /** Names in the order and case they were sent. */
  rawHeaderNames: string[];
  body: Buffer;
  at: number;
}

/** `endless`: after the status, body bytes keep coming until the sender hangs up. */
export type Reply = { status: number; body?: string | Buffer; headers?: Record<string, string>; endless?: boolean } | 'hang';

export interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  /** Answers the nth request (from 0); default 200 `{"ok":true}`. */
  reply: (request: Received, n: number) => Reply;
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight(): number;
  maxInFlight(): number;
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  /** Answers every request still hanging (with `status`), so their senders move on. */
  release(status?: number): void;
  close(): Promise<void>;
}

export async function startReceiver(options: { tls?: { key: string; cert: string } } = {}): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>();
  let current = 0;
  let most = 0;
  const waiters: Array<() => void> = [];
  const receiver: Receiver = {
    url: '',
    port: 0,
    requests: [],
    reply: () => ({ status: 200, body: '{"ok":true}' }),
    inFlight: () => current,
    maxInFlight: () => most,
    async waitFor(count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (receiver.requests.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${receiver.requests.length} of ${count} requests in ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return receiver.requests.slice(0, count);
    },
    release(status = 200) {
      for (const res of hanging) res.writeHead(status).end();
      hanging.clear();
    },
    async close() {
      receiver.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    current++;
    most = Math.max(most, current);
    res.on('close', () => current--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const names: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) names.push(req.rawHeaders[i]);
      const received: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaderNames: names, body: Buffer.concat(chunks), at: Date.now() };
      const n = receiver.requests.length;
      receiver.requests.push(received);
      for (const w of waiters.splice(0)) w();
      const answer = receiver.reply(received, n);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      if (!answer.endless) return void res.end(answer.body ?? '');
      const chunk = Buffer.alloc(4096, 0x78);
      const timer = setInterval(() => res.write(chunk), 5);
      res.on('close', () => clearInterval(timer));
    });
  };
  const server = options.tls ? https.createServer(options.tls, handle) : http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${receiver.port}`;
  return receiver;
}
