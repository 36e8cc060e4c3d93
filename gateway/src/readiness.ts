import { Readiness, type ReadinessCheck } from '@mercado/service-kit';

/**
 * The gateway's readiness: `starting` until its supergraph is loaded, then ready while every
 * subgraph's own `/ready` answers 200 (its database, broker and Redis usable), `draining` from the
 * first shutdown signal. Subgraphs are named, never located: the answer is public and their
 * addresses are not. Answers are cached for a second (Readiness), so a flood of probes costs each
 * subgraph one request a second.
 *
 * A gateway whose subgraph is down still serves every field the others own; it reports itself
 * not ready so that an operator (and a rolling update) sees the system is not whole. Where the
 * gateway's pods should keep their traffic through a subgraph's outage, point the Kubernetes
 * readiness probe at /health instead (docs/deployment.md).
 */
export function gatewayReadiness(timeoutMs: number): Readiness {
  return new Readiness({ starting: true, checkTimeoutMs: timeoutMs });
}

/** A subgraph is usable when its /ready answers 200 (within the readiness' time limit). */
export function subgraphReady(subgraphUrl: string): ReadinessCheck {
  const readyUrl = new URL('/ready', subgraphUrl);
  return async () => {
    const response = await fetch(readyUrl);
    await response.body?.cancel();
    return response.ok;
  };
}
