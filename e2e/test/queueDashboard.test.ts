import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedProducts } from '@mercado/dev-seed';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { signIn } from './helpers.ts';
import { placeOrder, settled } from './sagaHelpers.ts';

let stack: InProcessStack;
let admin: Record<string, string>;
let alice: Record<string, string>;
const queuesPath = '/admin/queues';

beforeAll(async () => {
  stack = await startInProcessStack();
  admin = await signIn(stack, 'admin@mercado.dev', 'admin-password');
  alice = await signIn(stack, 'alice@mercado.dev', 'alice-password');
});
afterAll(async () => {
  await stack?.close();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${stack.gateway.baseUrl}${path}`, { headers, redirect: 'manual' });
const code = async (res: Response) => ((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code;
const openSession = (headers: Record<string, string>) => fetch(`${stack.gateway.baseUrl}/admin/session`, { method: 'POST', headers });

describe('the saga queue dashboard', () => {
  it('shows admins the saga queues of this environment, with their jobs', async () => {
    // One saga through: each queue now holds jobs under this stack's prefix.
    const { body } = await placeOrder(stack, alice, [{ productId: seedProducts.find((p) => p.stock > 5)!.id, quantity: 1 }]);
    expect((await settled(stack, alice, body.data.placeOrder.id)).status).toBe('CONFIRMED');

    const page = await get(`${queuesPath}/`, admin);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
    expect(page.headers.get('x-powered-by')).toBeNull();
    const html = await page.text();
    expect(html).toContain('<title>Mercado sagas</title>');
    expect(html).toContain(`<base href="${queuesPath}/" />`);

    const api = await get(`${queuesPath}/api/queues`, admin);
    expect(api.status).toBe(200);
    const { queues } = (await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean; counts: Record<string, number> }> };
    expect(queues.map((q) => q.name).sort()).toEqual(['inventory-saga-commands', 'orders-saga-replies', 'payments-saga-commands']);
    for (const queue of queues) {
      expect(queue.readOnlyMode, queue.name).toBe(true);
      expect(queue.counts.completed, queue.name).toBeGreaterThan(0); // read under the right BullMQ prefix
    }
  });

  it('refuses anyone who is not an admin: 401 without or with a bad token, 403 for a customer', async () => {
    for (const path of [queuesPath, `${queuesPath}/`, `${queuesPath}/api/queues`, `${queuesPath}/static/css/main.css`]) {
      const anonymous = await get(path);
      expect(anonymous.status, path).toBe(401);
      expect(await code(anonymous)).toBe('UNAUTHENTICATED');
      const forged = await get(path, { authorization: 'Bearer not.a.token' });
      expect(forged.status, path).toBe(401);
      const customer = await get(path, alice);
      expect(customer.status, path).toBe(403);
      expect(await code(customer)).toBe('FORBIDDEN');
    }
  });

  it('opens a short browser session for an admin: an HttpOnly, SameSite=Strict cookie for /admin only', async () => {
    expect((await openSession({})).status).toBe(401);
    const refused = await openSession(alice);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('set-cookie')).toBeNull();

    const opened = await openSession(admin);
    expect(opened.status).toBe(200);
    const setCookie = opened.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^mercado_admin_session=[\w-]+\.[\w-]+\.[\w-]+; Max-Age=900; HttpOnly; SameSite=Strict; Path=\/admin$/);
    const cookie = setCookie.split(';')[0]!;

    // A browser navigating to the dashboard sends the cookie, not a bearer header.
    const page = await get(`${queuesPath}/`, { cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<title>Mercado sagas</title>');
    // ... and so does every script and style sheet the page loads, relative to its base.
    const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(2);
    for (const asset of assets) expect((await get(`${queuesPath}/${asset}`, { cookie })).status, asset).toBe(200);
    expect((await get(`${queuesPath}/api/queues`, { cookie: `other=1; ${cookie}` })).status).toBe(200);

    // The cookie opens the dashboard and nothing else: it is not a token for the graph ...
    const token = cookie.slice(cookie.indexOf('=') + 1);
    const graph = await postGraphQL(stack.gateway.url, '{ me { name } }', {}, { authorization: `Bearer ${token}` });
    expect(graph.status).toBe(401);
    // ... nor does it open another session, and a tampered one is refused.
    expect((await openSession({ cookie })).status).toBe(401);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const tampered = `mercado_admin_session=${header}.${payload}.${signature[5] === 'A' ? signature.replace(/^(.{5})./, '$1B') : signature.replace(/^(.{5})./, '$1A')}`;
    expect((await get(`${queuesPath}/`, { cookie: tampered })).status).toBe(401);

    const closed = await fetch(`${stack.gateway.baseUrl}/admin/session`, { method: 'DELETE', headers: { cookie } });
    expect(closed.status).toBe(204);
    expect(closed.headers.get('set-cookie')).toMatch(/^mercado_admin_session=; Max-Age=0;/);
  });

  it('answers nothing else under /admin', async () => {
    expect((await get('/admin/other', admin)).status).toBe(404);
    expect((await fetch(`${stack.gateway.baseUrl}/admin/session`, { headers: admin })).status).toBe(404);
  });
});
