import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { loggerOptions, requestLogger } from '../src/http/logging.js';

// A request's logger is made when it first writes (src/http/logging.ts): each line it writes must
// still carry the request id, and only lines at or above the level set are written.

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino(loggerOptions(level), stream) as unknown as FastifyBaseLogger;
  return { logger, lines };
}

test('a request logger writes only at or above its level, each line with the request id', () => {
  const { logger, lines } = capture('warn');
  const log = requestLogger(logger, { correlation_id: 'abc123' }, {});
  log.info('not written');
  log.debug('not written');
  log.warn({ headers: { 'private-token': 'glpat-secret' } }, 'written');
  log.error('also written');
  assert.deepEqual(lines.map((l) => [l.msg, l.correlation_id]), [['written', 'abc123'], ['also written', 'abc123']]);
  // Redaction still applies to what the line carries.
  assert.equal((lines[0].headers as Record<string, string>)['private-token'], '[FILTERED]');
});

test('its level can be read and changed, and its children keep the request id', () => {
  const { logger, lines } = capture('info');
  const log = requestLogger(logger, { correlation_id: 'r1' }, {});
  assert.equal(log.level, 'info');
  log.level = 'error';
  log.warn('dropped');
  log.child({ part: 'x' }).error('kept');
  assert.deepEqual(lines.map((l) => [l.msg, l.correlation_id, l.part]), [['kept', 'r1', 'x']]);
});

test('a route with a level of its own gets pino\'s child at once', () => {
  const { logger, lines } = capture('info');
  const log = requestLogger(logger, { correlation_id: 'r2' }, { level: 'error' });
  log.warn('dropped');
  log.error('kept');
  assert.deepEqual(lines.map((l) => l.msg), ['kept']);
});

test('with logging off (Fastify\'s silent logger, not pino), a request still gets a working logger', async () => {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, childLoggerFactory: requestLogger });
  app.get('/', async (request) => {
    request.log.info('nowhere');
    return { ok: true };
  });
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  await app.close();
});
