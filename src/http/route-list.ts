import type { FastifyInstance, FastifySchema } from 'fastify';

/** One registered route as Fastify saw it: enough for tests that must cover every route. */
export interface RouteEntry {
  method: string;
  /** Full path with the prefix, e.g. `/api/v4/projects/:id/releases`. */
  url: string;
  schema?: FastifySchema;
  public: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered so far, in registration order (HEAD twins included). */
    routeList: readonly RouteEntry[];
  }
}

/**
 * Records routes as they are registered. Call before any route is added: the fuzz and
 * authorization sweeps walk this list, so a new route is covered without editing a table.
 */
export function collectRoutes(app: FastifyInstance): void {
  const routes: RouteEntry[] = [];
  app.decorate('routeList', routes);
  app.addHook('onRoute', (route) => {
    // Every route says who may call it and what body it reads (route-facts.ts); forgetting is a
    // start-up error, not a route that silently takes the defaults.
    const where = `${route.method} ${route.url}`;
    if (!route.config?.auth) throw new Error(`${where}: the route declares no auth in its config (see http/route-facts.ts)`);
    if (route.schema?.body && !route.config.body) throw new Error(`${where}: the route has a body schema but declares no body kinds`);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      routes.push({ method, url: route.url, schema: route.schema, public: route.config?.auth === 'public' });
    }
  });
}
