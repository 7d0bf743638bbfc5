import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './deps.js';
import auditEventRoutes from './audit-events.js';
import downloadRoutes from './downloads.js';
import groupRoutes from './groups.js';
import healthRoutes from './health.js';
import hookRoutes from './hooks.js';
import jobTokenRoutes from './job-tokens.js';
import linkRoutes from './links.js';
import listRoutes from './lists.js';
import milestoneRoutes from './milestones.js';
import projectRoutes from './projects.js';
import releaseRoutes from './releases.js';
import tagRoutes from './tags.js';
import userRoutes from './users.js';
import webRoutes from './web.js';
import genericPackageRoutes from './generic-packages.js';
import packageRoutes from './packages.js';
import downloadCountRoutes from './download-counts.js';
import { uploadApiRoutes, uploadWebRoutes } from './uploads.js';

export async function registerRoutes(app: FastifyInstance, deps: RouteDeps) {
  await app.register(healthRoutes, deps);
  await app.register(
    async (api) => {
      for (const routes of [linkRoutes, releaseRoutes, projectRoutes, groupRoutes, userRoutes, tagRoutes, auditEventRoutes, listRoutes, milestoneRoutes, packageRoutes, genericPackageRoutes, uploadApiRoutes, downloadCountRoutes, hookRoutes]) {
        await api.register(routes, deps);
      }
    },
    { prefix: '/api/v4' },
  );
  // CI integration: job tokens and their scope, asset downloads and permalinks, and their web forms.
  for (const routes of [jobTokenRoutes, downloadRoutes]) await app.register(routes, { ...deps, prefix: '/api/v4' });
  await app.register(uploadWebRoutes, deps);
  await app.register(webRoutes, deps);
}
