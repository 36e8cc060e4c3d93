/** Subgraph names and URLs in a composed supergraph (its join__graph directives). */
const joinGraph = /@join__graph\(name: "([^"]+)", url: "([^"]*)"\)/g;

export function subgraphNames(sdl: string): string[] {
  return [...sdl.matchAll(joinGraph)].map((m) => m[1]!);
}

/** The supergraph with these subgraphs' URLs replaced; every subgraph must be given one. */
export function withSubgraphUrls(sdl: string, urls: Record<string, string>): string {
  const missing = subgraphNames(sdl).filter((name) => !urls[name]);
  if (missing.length) throw new Error(`no URL for subgraph(s) ${missing.join(', ')}`);
  return sdl.replace(joinGraph, (_whole, name: string) => `@join__graph(name: "${name}", url: "${urls[name]}")`);
}
