import { createServer, type Server } from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';

/** Waits until `check` holds (polling every 20 ms), or fails saying what did not happen. */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

type Result = { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

/** What a subscriber has received so far. */
export interface Followed {
  messages: Result[];
  /** Errors the server refused the subscription with (graphql-ws `error`), or the socket's close. */
  refused: unknown[];
  done: boolean;
  stop(): void;
}

/** A graphql-ws client on the gateway's /graphql, anonymous or with a bearer token in connectionParams. */
export function wsClient(httpUrl: string, authorization?: string): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export function followWs(client: Client, query: string, variables: Record<string, unknown>): Followed {
  const followed: Followed = {
    messages: [],
    refused: [],
    done: false,
    stop: () => {},
  };
  followed.stop = client.subscribe(
    { query, variables },
    {
      next: (message) => void followed.messages.push(message as Result),
      error: (error) => {
        followed.refused.push(error);
        followed.done = true;
      },
      complete: () => void (followed.done = true),
    },
  );
  return followed;
}

/**
 * A GraphQL over SSE subscription (distinct connections mode), read by hand: the HTTP status of
 * a refusal, then each `next` event as it arrives.
 */
export async function followSse(
  httpUrl: string,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Followed & { status: number; body?: Result }> {
  const abort = new AbortController();
  const res = await fetch(httpUrl, {
    method: 'POST',
    headers: { accept: 'text/event-stream', 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  const followed = { status: res.status, messages: [] as Result[], refused: [] as unknown[], done: false, stop: () => abort.abort(), body: undefined as Result | undefined };
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    followed.body = (await res.json()) as Result;
    followed.done = true;
    return followed;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = /^data: ?(.*)$/m.exec(block)?.[1];
          if (event === 'next' && data) followed.messages.push(JSON.parse(data) as Result);
          if (event === 'complete') followed.done = true;
        }
      }
    } catch {
      // aborted by the test
    }
    followed.done = true;
  })();
  return followed;
}

/**
 * A JWKS of the test's own, so that a test can sign tokens of any lifetime for a gateway that
 * trusts it (accounts signs one-hour tokens).
 */
export async function testIssuer(): Promise<{ jwksUrl: string; token(sub: string, role: 'customer' | 'admin', lifetimeSeconds: number): Promise<string>; close(): Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'live-test', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    token: (sub, role, lifetimeSeconds) =>
      new SignJWT({ role })
        .setProtectedHeader({ alg: 'ES256', kid: 'live-test' })
        .setSubject(sub)
        .setIssuer('mercado-accounts')
        .setAudience('mercado')
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
        .sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
