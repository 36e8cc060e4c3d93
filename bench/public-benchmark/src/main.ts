/** Runs one public-benchmark subgraph: `tsx bench/public-benchmark/src/main.ts <name>` (PORT overrides its port). */
import { publicSubgraphNames, publicSubgraphPorts, startPublicSubgraph, type PublicSubgraphName } from './subgraphs.ts';

// Fixtures should cost as little CPU as possible: no source-mapped stack traces (tsx enables them).
process.setSourceMapsEnabled(false);

const name = process.argv[2] as PublicSubgraphName;
if (!publicSubgraphNames.includes(name)) {
  console.error(`usage: main.ts <${publicSubgraphNames.join('|')}>`);
  process.exit(2);
}
const port = process.env.PORT ? Number(process.env.PORT) : publicSubgraphPorts[name];
const service = await startPublicSubgraph(name, port);
console.log(`${name} ready at ${service.url}`);
const stop = () => void service.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
