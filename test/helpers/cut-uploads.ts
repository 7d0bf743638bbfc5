import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ROOT_TOKEN } from './server.js';

// Uploads cut off mid-way, as a client that goes away sends them: a request's head promising more
// body than ever comes, some of the body, then a hang-up.

/**
 * Sends a request's head, then `body` (fewer bytes than its Content-Length promises), waits until
 * `ready` says the server is at work on them (or `waitMs` passed), and hangs up. Resolves with
 * whether `ready` said so.
 */
export function cutRequest(port: number, head: string, body: Buffer, ready: () => Promise<boolean> = async () => true, waitMs = 30_000): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(head);
      socket.write(body, async () => {
        const deadline = Date.now() + waitMs;
        await new Promise((r) => setTimeout(r, 100));
        while (!(seen = await ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        socket.destroy();
      });
    });
    socket.on('close', () => resolve(seen));
    socket.on('error', () => {});
  });
}

/** Sends headers promising `declared` bytes, then only `sent` of them, and hangs up. */
export function cutUpload(port: number, urlPath: string, declared: number, sent: number, ready?: () => Promise<boolean>, waitMs?: number): Promise<boolean> {
  return cutRequest(port, `PUT ${urlPath} HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: ${ROOT_TOKEN}\r\nContent-Length: ${declared}\r\n\r\n`, randomBytes(sent), ready, waitMs);
}

/**
 * `POST /projects/:id/uploads` as curl --form sends it, cut off: the multipart head of the `file`
 * part, then `sent` of the file's `size` bytes, or only the first `headBytes` of the part's head.
 */
export function cutMultipart(port: number, projectId: number, { size, sent, headBytes }: { size: number; sent?: number; headBytes?: number }, ready?: () => Promise<boolean>, waitMs?: number) {
  const boundary = `------------------------${randomBytes(8).toString('hex')}`;
  const partHead = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const declared = partHead.length + size + `\r\n--${boundary}--\r\n`.length;
  const head =
    `POST /api/v4/projects/${projectId}/uploads HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: ${ROOT_TOKEN}\r\n` +
    `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${declared}\r\n\r\n`;
  const body = headBytes !== undefined ? partHead.subarray(0, headBytes) : Buffer.concat([partHead, randomBytes(sent ?? 0)]);
  return cutRequest(port, head, body, ready, waitMs);
}
