import http from 'node:http';

// A bare HTTP client for hostile requests: unlike fetch it sends paths byte for byte (no `..`
// resolution, no re-encoding), any body bytes, and reuses keep-alive sockets for speed.

export interface RawRequest {
  method: string;
  /** Sent as is after the host: may hold `%00`, `..`, raw latin1 bytes. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names in the order and case they came, for comparing header sets. */
  rawHeaderNames: string[];
  body: Buffer;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export class RequestFailed extends Error {
  constructor(
    readonly reason: 'timeout' | 'network',
    message: string,
  ) {
    super(message);
  }
}

export interface RawClient {
  send(request: RawRequest, timeoutMs?: number): Promise<RawResponse>;
  close(): void;
}

export function rawClient(baseUrl: string, options: { maxSockets?: number; keepAlive?: boolean } = {}): RawClient {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: options.keepAlive ?? true, maxSockets: options.maxSockets ?? 16 });
  return {
    send(request, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const headers = { ...request.headers };
        // Framed explicitly: Node sends GET/HEAD/DELETE bodies unframed, which reads as a second request.
        if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: request.method,
            path: request.path,
            headers,
            agent,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', (e) => finish(() => reject(new RequestFailed('network', e.message))));
            res.on('end', () => {
              const body = Buffer.concat(chunks);
              const text = body.toString('utf8');
              let json: unknown;
              try {
                json = text ? JSON.parse(text) : undefined;
              } catch {
                json = undefined;
              }
              const rawHeaderNames = res.rawHeaders.filter((_, i) => i % 2 === 0);
              finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaderNames, body, text, json }));
            });
          },
        );
        let done = false;
        const timer = setTimeout(() => {
          finish(() => reject(new RequestFailed('timeout', `no complete response within ${timeoutMs} ms`)));
          req.destroy();
        }, timeoutMs);
        const finish = (fn: () => void) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          fn();
        };
        req.on('error', (e) => finish(() => reject(new RequestFailed('network', e.message))));
        req.end(request.body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
