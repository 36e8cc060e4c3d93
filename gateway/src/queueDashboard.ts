import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jwtVerify, SignJWT } from 'jose';
import type { SagaBus } from '@mercado/saga';
import { HttpError, sendJson, type Viewer } from '@mercado/service-kit';
import { sagaOrchestrators, sagaParticipants } from '@mercado/system';
import type { GatewayPlugin } from './plugin.ts';

export interface QueueDashboardOptions {
  redisUrl: string;
  /** BullMQ key prefix of the saga queues (SAGA_PREFIX). */
  prefix: string;
}

// Everything under /admin belongs to the dashboard; the session cookie is scoped to it.
const ADMIN_PATH = '/admin';
const QUEUES_PATH = `${ADMIN_PATH}/queues`;
const SESSION_COOKIE = 'mercado_admin_session';
const SESSION_TTL_SECONDS = 15 * 60;
const SESSION_AUDIENCE = 'mercado-admin-dashboard';

// The page loads its scripts and styles from the gateway itself and styles elements inline.
const dashboardContentSecurityPolicy =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

const unauthenticated = (message: string) =>
  new HttpError(401, 'UNAUTHENTICATED', message, { 'www-authenticate': 'Bearer' });

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/**
 * bull-board over the saga queues at /admin/queues, for admins only. A browser cannot send a
 * bearer header when it navigates, so besides `Authorization: Bearer <admin JWT>` the
 * dashboard accepts a session cookie that `POST /admin/session` (with that header) sets:
 * HttpOnly, SameSite=Strict, scoped to /admin, valid 15 minutes. It carries its own token,
 * signed with a key derived from the gateway's secret, so it opens the dashboard and nothing
 * else (it is not the user's JWT). The queues connect to Redis on the first admin request.
 */
export function createQueueDashboard(opts: {
  dashboard: QueueDashboardOptions;
  /** The gateway's own check of `Authorization: Bearer` (verified and rate limited); null without the header. */
  authenticate: (req: IncomingMessage) => Promise<Viewer | null>;
  internalTokenSecret: string;
  /** Production: the cookie is also `Secure`. */
  production: boolean;
  onUnexpectedError: (error: unknown) => void;
}) {
  const sessionKey = createHmac('sha256', opts.internalTokenSecret).update(SESSION_AUDIENCE).digest();
  let board: Promise<{ app: (req: IncomingMessage, res: ServerResponse) => void; bus: SagaBus }> | undefined;

  /**
   * bull-board, Express, BullMQ and the saga queues are loaded on the first admin request only:
   * a gateway whose admins never open the dashboard does not keep them in memory.
   */
  async function mount() {
    const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }, { commandQueue, replyQueue, SagaBus }] = await Promise.all([
      import('@bull-board/api'),
      import('@bull-board/api/bullMQAdapter'),
      import('@bull-board/express'),
      import('@mercado/saga'),
    ]);
    // The saga queues the system manifest declares: each participant's commands, each orchestrator's replies.
    const sagaQueues = [...sagaParticipants.map(commandQueue), ...sagaOrchestrators.map(replyQueue)];
    const bus = new SagaBus({ redisUrl: opts.dashboard.redisUrl, prefix: opts.dashboard.prefix });
    const serverAdapter = new ExpressAdapter().setBasePath(QUEUES_PATH);
    createBullBoard({
      // Read-only: removing or replaying a saga message by hand could apply a step twice or lose
      // one; the orchestrator's sweep re-sends what a crash left behind.
      queues: sagaQueues.map((name) => new BullMQAdapter(bus.queue(name), { readOnlyMode: true })),
      // @bull-board/express pins its own copy of @bull-board/api; the two differ only in version.
      serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
      options: { uiConfig: { boardTitle: 'Mercado sagas', hideDocsLink: true } },
    });
    // An Express app whose routes are relative to the dashboard's path, as if mounted there.
    const app = serverAdapter.getRouter() as ((req: IncomingMessage, res: ServerResponse) => void) & { disable(setting: string): void };
    app.disable('x-powered-by');
    return {
      bus,
      app: (req: IncomingMessage, res: ServerResponse) => {
        const rest = req.url!.slice(QUEUES_PATH.length);
        req.url = rest.startsWith('/') ? rest : `/${rest}`;
        app(req, res);
      },
    };
  }

  async function signSession(viewer: Viewer): Promise<string> {
    return new SignJWT({ role: viewer.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(viewer.id)
      .setAudience(SESSION_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${SESSION_TTL_SECONDS}s`)
      .sign(sessionKey);
  }

  async function sessionViewer(token: string): Promise<Viewer> {
    try {
      const { payload } = await jwtVerify(token, sessionKey, { audience: SESSION_AUDIENCE, algorithms: ['HS256'] });
      if (!payload.sub || (payload.role !== 'admin' && payload.role !== 'customer')) throw new Error('no viewer');
      return { id: payload.sub, role: payload.role };
    } catch {
      throw unauthenticated('The dashboard session has expired or is invalid; sign in again');
    }
  }

  /** The admin behind the request (bearer header first, then the session cookie); refuses anyone else. */
  async function requireAdmin(req: IncomingMessage, via: 'bearer' | 'any'): Promise<Viewer> {
    let viewer = await opts.authenticate(req);
    const session = via === 'any' && !viewer ? cookie(req, SESSION_COOKIE) : undefined;
    if (session) viewer = await sessionViewer(session);
    if (!viewer) {
      throw unauthenticated(via === 'bearer' ? 'Send an admin token as "Authorization: Bearer <token>"' : 'Sign in as an admin: POST /admin/session with your token');
    }
    if (viewer.role !== 'admin') throw new HttpError(403, 'FORBIDDEN', 'Only admins may see the queues');
    return viewer;
  }

  const cookieAttributes = `HttpOnly; SameSite=Strict; Path=${ADMIN_PATH}${opts.production ? '; Secure' : ''}`;

  return {
    /** Whether the request is the dashboard's to answer. */
    handles(req: IncomingMessage): boolean {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      return path === ADMIN_PATH || path.startsWith(`${ADMIN_PATH}/`);
    },

    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      try {
        if (path === `${ADMIN_PATH}/session`) {
          if (req.method === 'POST') {
            const token = await signSession(await requireAdmin(req, 'bearer'));
            res.setHeader('set-cookie', `${SESSION_COOKIE}=${token}; Max-Age=${SESSION_TTL_SECONDS}; ${cookieAttributes}`);
            return sendJson(res, 200, { expiresInSeconds: SESSION_TTL_SECONDS, dashboard: `${QUEUES_PATH}/` });
          }
          if (req.method === 'DELETE') {
            res.setHeader('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${cookieAttributes}`);
            return void res.writeHead(204).end();
          }
        }
        if (path !== QUEUES_PATH && !path.startsWith(`${QUEUES_PATH}/`)) throw new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${path}`);
        await requireAdmin(req, 'any');
        res.setHeader('content-security-policy', dashboardContentSecurityPolicy);
        res.setHeader('cache-control', 'no-store');
        // A dashboard that failed to load (Redis or a module missing) is tried again next time.
        board ??= mount().catch((error: unknown) => {
          board = undefined;
          throw error;
        });
        (await board).app(req, res);
      } catch (error) {
        if (res.headersSent) return void res.destroy();
        const refusal = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
        if (!(error instanceof HttpError)) opts.onUnexpectedError(error);
        sendJson(res, refusal.status, { errors: [{ message: refusal.message, extensions: { code: refusal.code } }] }, refusal.headers);
      }
    },

    async close(): Promise<void> {
      if (board) await (await board).bus.close();
    },
  };
}

/** The admins' queue dashboard as a gateway plugin: answers /admin/queues, closes its queues. */
export function useQueueDashboard(opts: Parameters<typeof createQueueDashboard>[0]): GatewayPlugin {
  const dashboard = createQueueDashboard(opts);
  return {
    name: 'queue-dashboard',
    async onRequest(req, res) {
      if (!dashboard.handles(req)) return false;
      await dashboard.handle(req, res);
      return true;
    },
    close: () => dashboard.close(),
  };
}
