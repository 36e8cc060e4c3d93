/**
 * The public gateways benchmark's four subgraphs (accounts, inventory, products, reviews) as
 * small Federation 2 servers over static data. They are foreign to Mercado: no signed
 * identity is required, any gateway may call them.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { createHttpHandler, listen, type RunningService } from '@mercado/service-kit';
import gql from 'graphql-tag';
import type { DocumentNode } from 'graphql';
import { inStock, products, reviewAuthor, reviews, reviewsOfAnyUser, users, type Review } from './data.ts';

export const publicSubgraphNames = ['accounts', 'inventory', 'products', 'reviews'] as const;
export type PublicSubgraphName = (typeof publicSubgraphNames)[number];

/** The ports written into the committed supergraph.graphql. */
export const publicSubgraphPorts: Record<PublicSubgraphName, number> = {
  accounts: 4201,
  inventory: 4202,
  products: 4203,
  reviews: 4204,
};

const federation = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])`;

interface Definition {
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<unknown>;
}

const reviewById = new Map(reviews.map((r) => [r.id, r]));
const productByUpc = new Map(products.map((p) => [p.upc, p]));
const userById = new Map(users.map((u) => [u.id, u]));

const definitions: Record<PublicSubgraphName, Definition> = {
  accounts: {
    typeDefs: gql`
      ${federation}
      type Query {
        me: User
        user(id: ID!): User
        users: [User]
      }
      type User @key(fields: "id") {
        id: ID!
        name: String
        username: String @shareable
        birthday: Int
      }
    `,
    resolvers: {
      Query: {
        me: () => users[0],
        user: (_: unknown, { id }: { id: string }) => userById.get(id) ?? null,
        users: () => users,
      },
      User: {
        __resolveReference: ({ id }: { id: string }) => userById.get(id) ?? null,
      },
    },
  },
  inventory: {
    typeDefs: gql`
      ${federation}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref: { upc: string; price?: number | null; weight?: number | null }) => ({
          ...ref,
          inStock: inStock[ref.upc] ?? null,
        }),
        // Free shipping above 1000, otherwise half the weight (the reference implementation's rule).
        shippingEstimate: ({ price, weight }: { price?: number | null; weight?: number | null }) => {
          if (price == null) return null;
          if (price > 1000) return 0;
          return weight == null ? null : Math.trunc(weight / 2);
        },
      },
    },
  },
  products: {
    typeDefs: gql`
      ${federation}
      type Query {
        topProducts(first: Int = 5): [Product]
      }
      type Product @key(fields: "upc") {
        upc: String!
        name: String
        price: Int
        weight: Int
      }
    `,
    resolvers: {
      Query: {
        topProducts: (_: unknown, { first }: { first: number }) => products.slice(0, first),
      },
      Product: {
        __resolveReference: ({ upc }: { upc: string }) => productByUpc.get(upc) ?? null,
      },
    },
  },
  reviews: {
    typeDefs: gql`
      ${federation}
      type Review @key(fields: "id") {
        id: ID!
        body: String
        product: Product
        author: User @provides(fields: "username")
      }
      type User @key(fields: "id") {
        id: ID!
        username: String @external
        reviews: [Review]
      }
      type Product @key(fields: "upc") {
        upc: String!
        reviews: [Review]
      }
    `,
    resolvers: {
      Review: {
        __resolveReference: ({ id }: { id: string }) => reviewById.get(id) ?? null,
        product: (review: Review) => ({ upc: review.productUpc }),
        author: () => ({ id: reviewAuthor.id, username: reviewAuthor.username }),
      },
      User: {
        __resolveReference: ({ id }: { id: string }) => ({ id }),
        reviews: () => reviewsOfAnyUser,
      },
      Product: {
        __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
        reviews: ({ upc }: { upc: string }) => reviews.filter((r) => r.productUpc === upc),
      },
    },
  },
};

/** The subgraph's SDL, for composition. */
export function publicSubgraphTypeDefs(name: PublicSubgraphName): DocumentNode {
  return definitions[name].typeDefs;
}

/** Starts one public-benchmark subgraph; port 0 picks a free port. */
export async function startPublicSubgraph(name: PublicSubgraphName, port: number, host = '127.0.0.1'): Promise<RunningService> {
  const { typeDefs, resolvers } = definitions[name];
  const apollo = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs, resolvers }),
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const handler = createHttpHandler({ apollo, context: async () => ({}) });
  const { url, close } = await listen(handler, port, host);
  return {
    url: `${url}/graphql`,
    baseUrl: url,
    close: async () => {
      await close();
      await apollo.stop();
    },
  };
}
