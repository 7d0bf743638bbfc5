import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { startServer } from './server.js';
import { openStore } from './store/db.js';
import { migrate } from './store/migrate.js';
import { issueToken, SCOPES } from './services/tokens.js';
import { addUser } from './services/users.js';
import { issueJobTokenFor, JobTokenCliError, DEFAULT_EXPIRES_IN } from './services/job-tokens.js';
import { findUser } from './store/users.js';
import { ApiError } from './errors.js';

/** The first line of standard input, without its line break. */
async function firstLineOfStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0];
}

function config() {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`relinks: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

async function withStore<T>(fn: (store: ReturnType<typeof openStore>) => Promise<T>): Promise<T> {
  const c = config();
  const store = openStore({ databaseUrl: c.databaseUrl, poolMax: 2 });
  try {
    await migrate(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

const program = new Command('relinks').description('A GitLab-compatible Release links API server');

program
  .command('serve')
  .description('run the HTTP server (settings come from the environment)')
  .action(async () => {
    const running = await startServer(config());
    const stop = async (signal: string) => {
      running.app.log.info({ signal }, 'shutting down');
      // Fastify stops accepting, lets in-flight requests finish, then the store closes.
      const timer = setTimeout(() => process.exit(1), 10_000);
      timer.unref();
      await running.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });

program
  .command('migrate')
  .description('bring the database schema up to date and exit')
  .action(async () => {
    await withStore(async () => undefined);
    console.log('migrations: up to date');
  });

const users = program.command('users').description('manage users');
users
  .command('create')
  .requiredOption('--username <name>')
  .requiredOption('--email <email>')
  .option('--name <name>', 'display name (default: the username)')
  .option('--admin', 'make the user an administrator', false)
  .option('--password <password>', 'a password to sign in to the web pages with (8 to 128 characters; visible to `ps`: prefer --password-stdin)')
  .option('--password-stdin', 'read the password from standard input (its first line)', false)
  .action(async (opts: { username: string; email: string; name?: string; admin: boolean; password?: string; passwordStdin: boolean }) => {
    const password = opts.passwordStdin ? await firstLineOfStdin() : opts.password;
    try {
      const user = await withStore((store) => addUser(store.db, { username: opts.username, email: opts.email, name: opts.name ?? opts.username, admin: opts.admin, password }));
      console.log(JSON.stringify({ id: user.id, username: user.username, is_admin: user.is_admin === 1 }));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // GitLab's body, e.g. {"message":{"password":["is too short (minimum is 8 characters)"]}}.
      console.error(`relinks: ${JSON.stringify(error.body)}`);
      process.exit(1);
    }
  });

const tokens = program.command('tokens').description('manage personal access tokens');
tokens
  .command('create')
  .requiredOption('--user <username>')
  .option('--name <name>', 'token name', 'cli')
  .option('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, 'api')
  .option('--expires-at <date>', 'YYYY-MM-DD')
  .action(async (opts: { user: string; name: string; scopes: string; expiresAt?: string }) => {
    const scopes = opts.scopes.split(',').map((s) => s.trim());
    const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (bad.length) {
      console.error(`relinks: unknown scope(s): ${bad.join(', ')}`);
      process.exit(2);
    }
    if (opts.expiresAt !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(opts.expiresAt)) {
      console.error('relinks: --expires-at must be YYYY-MM-DD');
      process.exit(2);
    }
    const token = await withStore(async (store) => {
      const user = await findUser(store.db, opts.user);
      if (!user) {
        console.error(`relinks: no user "${opts.user}"`);
        process.exit(1);
      }
      return issueToken(store.db, user.id, { name: opts.name, scopes, expires_at: opts.expiresAt });
    });
    // The only time the token is shown: it is stored as a digest.
    console.log(token.token);
  });

const jobTokens = program.command('job-token').description('manage CI/CD job tokens');
jobTokens
  .command('create')
  .description('print a job token acting as --user for --project (export it as CI_JOB_TOKEN)')
  .requiredOption('--project <id|path>')
  .requiredOption('--user <username>')
  .option('--expires-in <seconds>', 'lifetime, at most 86400', String(DEFAULT_EXPIRES_IN))
  .option('--ref <sha>', 'the commit the job runs for ($CI_COMMIT_SHA): a release of an unknown tag is tagged there')
  .option('--json', 'print the whole token record, not only the token', false)
  .action(async (opts: { project: string; user: string; expiresIn: string; ref?: string; json: boolean }) => {
    if (!/^\d+$/.test(opts.expiresIn)) {
      console.error('relinks: --expires-in must be a number of seconds');
      process.exit(2);
    }
    try {
      const token = await withStore((store) =>
        issueJobTokenFor(store.db, opts.project, opts.user, { expires_in: Number(opts.expiresIn), ref: opts.ref }),
      );
      console.log(opts.json ? JSON.stringify(token) : token.token);
    } catch (error) {
      if (!(error instanceof JobTokenCliError)) throw error;
      console.error(`relinks: ${error.message}`);
      process.exit(1);
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
