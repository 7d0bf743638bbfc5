import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { buildWorld, type World } from './helpers/world.js';
import { rawClient, RequestFailed, type RawClient, type RawResponse } from './helpers/raw-http.js';
import {
  accountingProblems, countRows, effectOf, learn, requestArb, responseProblems, type FuzzRequest, type Pools,
} from './helpers/fuzz.js';

// Property: whatever arrives (hostile paths, ids, queries, headers and bodies on every registered
// route), the answer is a documented status with a GitLab-shaped JSON body, never a 5xx or a hang,
// and a refused request writes nothing (row counts after each burst match the successes).
// FUZZ_REQUESTS sets the number of requests (npm run fuzz: 100,000), FUZZ_SEED replays a run.

const TOTAL = Number(process.env.FUZZ_REQUESTS || 20_000);
const BURST = 48;
const CONCURRENCY = 16;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

let server: TestServer;
let client: RawClient;
let world: World;

before(async () => {
  server = await startTestServer();
  client = rawClient(server.url, { maxSockets: CONCURRENCY });
  world = await buildWorld(server);
});
after(async () => {
  client?.close();
  await server?.close();
});

const show = (r: FuzzRequest) =>
  JSON.stringify({ target: r.target, method: r.method, path: r.path.slice(0, 300), headers: r.headers, body: r.body?.subarray(0, 300).toString('latin1') });

test(`${TOTAL} generated requests on every route: documented statuses, GitLab bodies, no partial writes (seed ${SEED})`, { timeout: 30 * 60_000 }, async (t) => {
  const routes = server.running.app.routeList;
  assert.ok(routes.length >= 20, `route list looks incomplete: ${routes.length}`);
  const enc = encodeURIComponent;
  const pools: Pools = {
    projectRefs: [world.secret, world.publicProject, world.internalProject, world.other].flatMap((p) => [String(p.id), enc(p.path), enc(p.path.toUpperCase())]),
    throwawayProjects: [],
    groupRefs: [String(world.group.id), enc(world.group.full_path)],
    tags: [...world.tags],
    linkIds: world.linkIds.map(String),
    userIds: ['1', ...Object.values(world.users).map((u) => String(u.id))],
    protectedNames: [...world.protectedNames],
    filepaths: [...world.filepaths],
    tokens: { root: ROOT_TOKEN, ...Object.fromEntries(Object.entries(world.users).map(([k, u]) => [k, u.token])) },
  };

  const statuses = new Map<number, number>();
  const hits = new Map<string, number>();
  const successes = new Map<string, number>();
  let sent = 0;
  let requestMs = 0;
  let checkMs = 0;
  let counts = await countRows(server.running.store.db);

  await fc.assert(
    fc.asyncProperty(fc.array(requestArb(routes, pools), { minLength: BURST, maxLength: BURST }), async (batch) => {
      const started = Date.now();
      const results = await Promise.all(
        batch.map(async (request) => {
          try {
            return { request, res: await client.send(request, 20_000) };
          } catch (error) {
            const why = error instanceof RequestFailed ? `${error.reason}: ${error.message}` : String(error);
            return { request, failure: why };
          }
        }),
      );
      sent += batch.length;
      const checked = Date.now();
      requestMs += checked - started;
      const problems: string[] = [];
      const effects = [];
      for (const { request, res, failure } of results as Array<{ request: FuzzRequest; res?: RawResponse; failure?: string }>) {
        hits.set(request.target, (hits.get(request.target) ?? 0) + 1);
        if (!res) {
          problems.push(`${failure} for ${show(request)}`);
          continue;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status < 300) successes.set(request.target, (successes.get(request.target) ?? 0) + 1);
        for (const p of responseProblems(request, res)) problems.push(`${p}: ${res.status} ${res.text.slice(0, 300)} for ${show(request)}`);
        effects.push(effectOf(request.target, request.method, res));
        learn(pools, `${request.method} ${request.target.replace(/^\S+ /, '')}`, res);
      }
      const now = await countRows(server.running.store.db);
      const unexplained = accountingProblems(counts, now, effects);
      for (const p of unexplained) problems.push(`partial or unexplained write: ${p}`);
      if (unexplained.length) {
        // The burst's successful writes, to tell which response did not say what it did.
        for (const { request, res } of results) {
          if (res && res.status < 300 && !['GET', 'HEAD'].includes(request.method)) {
            problems.push(`  written in this burst: ${res.status} ${request.method} ${request.path.slice(0, 120)} → ${res.text.slice(0, 200)}`);
          }
        }
      }
      counts = now;
      problems.push(...(await invariantProblems()));
      checkMs += Date.now() - checked;
      if (problems.length) assert.fail(`${problems.length} problems, first ones:\n${problems.slice(0, 12).map((p) => p.slice(0, 900)).join('\n')}`);
    }),
    { numRuns: Math.ceil(TOTAL / BURST), seed: SEED, endOnFailure: true },
  );

  const alive = await client.send({ method: 'GET', path: '/-/liveness' });
  assert.equal(alive.status, 200);
  const serverErrors = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  const line = `fuzz[${server.store.kind}]: ${sent} requests, ${serverErrors} 5xx, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`;
  console.log(line);
  t.diagnostic(line);
  t.diagnostic(`time: ${requestMs} ms in requests, ${checkMs} ms in row counts and invariants`);
  t.diagnostic(`successes per route: ${JSON.stringify(Object.fromEntries(successes))}`);
  assert.ok(sent >= TOTAL, `only ${sent} requests sent`);
  assert.equal(serverErrors, 0);
  // Every registered route was exercised, so a new route cannot escape the fuzzer.
  const missed = routes.map((r) => `${r.method} ${r.url}`).filter((k) => !hits.has(k));
  assert.deepEqual(missed, [], `routes never requested: ${missed.join(', ')}`);
});

/** Facts that hold whatever was requested: what a half-done write would break. */
async function invariantProblems(): Promise<string[]> {
  const db = server.running.store.db;
  const problems: string[] = [];
  const orphans = await db
    .selectFrom('releases as r')
    .select(['r.id', 'r.tag_name'])
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('tags as t').select('t.id').whereRef('t.project_id', '=', 'r.project_id').whereRef('t.name', '=', 'r.tag_name'))),
    )
    .execute();
  if (orphans.length) problems.push(`releases without their tag: ${JSON.stringify(orphans.slice(0, 3))}`);
  const crowded = await db
    .selectFrom('release_links')
    .select(['release_id', sql<string>`count(*)`.as('n')])
    .groupBy('release_id')
    .having(sql`count(*)`, '>', 1000)
    .execute();
  if (crowded.length) problems.push(`releases over 1,000 links: ${JSON.stringify(crowded)}`);
  const long = await db
    .selectFrom('release_links')
    .select(['id', 'name', 'url'])
    .where((e) => e.or([e(sql`length(name)`, '>', 255), e(sql`length(url)`, '>', 2048)]))
    .execute();
  const tooLong = long.filter((l) => l.name.length > 255 || l.url.trim().length > 2048);
  if (tooLong.length) problems.push(`links past the length limits: ${tooLong.map((l) => l.id).join(', ')}`);
  return problems;
}
