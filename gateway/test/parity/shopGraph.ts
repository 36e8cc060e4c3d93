/**
 * A test graph that uses what Mercado's own graph does not: interfaces and unions, an entity
 * interface completed by an @interfaceObject subgraph (input and output rewrites), @requires,
 * @provides, enums, a custom scalar, lists of lists, arguments with defaults. The public
 * benchmark's shape (users, reviews, products, inventory) is in it too.
 */
import { composeServices } from '@apollo/composition';
import gql from 'graphql-tag';

const link = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [${imports.map((name) => `"${name}"`).join(', ')}])`;

export const shopSubgraphs = {
  accounts: gql`
    ${link(['@key', '@shareable'])}
    scalar Instant
    enum Role { CUSTOMER ADMIN SUPPORT }
    interface Account @key(fields: "id") { id: ID! handle: String! createdAt: Instant }
    type User implements Account @key(fields: "id") {
      id: ID!
      handle: String!
      createdAt: Instant
      name: String
      username: String @shareable
      role: Role!
      address: Address
      tags: [String!]!
    }
    type Organization implements Account @key(fields: "id") {
      id: ID!
      handle: String!
      createdAt: Instant
      members(first: Int = 3): [User!]!
    }
    type Address @shareable { city: String! lines: [String!] }
    union SearchResult = User | Organization
    type Query {
      me: User
      users: [User]
      accounts: [Account!]!
      search(term: String!, limit: Int = 4): [SearchResult!]!
      account(id: ID!): Account
    }
  `,
  products: gql`
    ${link(['@key', '@shareable'])}
    type Product @key(fields: "upc") {
      upc: String!
      name: String
      price: Int
      weight: Int
      sizes: [[Int!]]
      kind: ProductKind!
    }
    enum ProductKind { BOOK GAME OTHER }
    type Query {
      topProducts(first: Int = 5): [Product]
      product(upc: String!): Product
    }
    type Mutation {
      renameProduct(upc: String!, name: String!): Product!
    }
  `,
  inventory: gql`
    ${link(['@key', '@external', '@requires'])}
    type Product @key(fields: "upc") {
      upc: String!
      weight: Int @external
      price: Int @external
      inStock: Boolean
      shippingEstimate: Int @requires(fields: "price weight")
    }
  `,
  reviews: gql`
    ${link(['@key', '@external', '@provides'])}
    type Review @key(fields: "id") {
      id: ID!
      body: String
      rating: Int!
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
      topReview: Review
    }
    type Mutation {
      addReview(upc: String!, body: String!): Review
    }
  `,
  billing: gql`
    ${link(['@key', '@interfaceObject'])}
    type Account @key(fields: "id") @interfaceObject {
      id: ID!
      balance: Int!
      invoices(last: Int = 2): [Invoice!]!
    }
    type Invoice { number: String! amount: Float }
  `,
};

export function composeShopSupergraph(): string {
  const result = composeServices(
    Object.entries(shopSubgraphs).map(([name, typeDefs]) => ({ name, url: `http://${name}.invalid/graphql`, typeDefs })),
  );
  if (result.errors) throw new Error(result.errors.map((error) => error.message).join('\n'));
  return result.supergraphSdl;
}

/** Hand-written operations over the shop graph, each meant to stress one part of shaping. */
export const shopOperations: Array<{ name: string; query: string; variables?: Record<string, unknown>; operationName?: string }> = [
  {
    name: 'the public benchmark query',
    query: `
      fragment User on User { id username name }
      fragment Review on Review { id body }
      fragment Product on Product { inStock name price shippingEstimate upc weight }
      query TestQuery {
        users { ...User reviews { ...Review product { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } } }
        topProducts { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } }
      }`,
  },
  {
    name: 'aliases, the same field twice, __typename aliased',
    query: `{
      first: topProducts(first: 2) { upc n: name kind t: __typename }
      again: topProducts(first: 2) { name upc price }
      topProducts { upc name upc weight __typename }
      me { id kind: __typename handle: username }
    }`,
  },
  {
    name: 'interfaces and unions with fragments on each type',
    query: `{
      accounts {
        __typename id handle createdAt
        ... on User { name role tags address { city lines } reviews { id rating } }
        ... on Organization { members { id name } members2: members(first: 1) { handle } }
        balance
      }
      search(term: "a") {
        __typename
        ... on Account { id handle }
        ... on User { username }
        ... on Organization { members { username } }
      }
    }`,
  },
  {
    name: 'interfaceObject fields through an interface, with rewrites',
    query: `{ account(id: "id-1") { id __typename balance invoices { number amount } ... on User { name } } accounts { id balance invoices(last: 1) { amount } } }`,
  },
  {
    name: 'named fragments nested and overlapping, on abstract types',
    query: `
      fragment A on Account { id ...B }
      fragment B on Account { handle ... on User { ...C } }
      fragment C on User { name reviews { ...R } }
      fragment R on Review { id rating product { upc name } }
      query Overlap { accounts { ...A ... on User { reviews { body product { inStock } } } } me { ...C } }`,
  },
  {
    name: '@skip and @include with variables, literals and defaults',
    query: `
      query Conditional($withReviews: Boolean!, $skipName: Boolean = false, $first: Int) {
        topProducts(first: $first) {
          upc
          name @skip(if: $skipName)
          price @include(if: false)
          reviews @include(if: $withReviews) { id author { username } }
          ... on Product @include(if: $withReviews) { inStock shippingEstimate }
          ... @skip(if: true) { weight }
        }
      }`,
    variables: { withReviews: true, first: 3 },
  },
  {
    name: '@skip and @include with the other values',
    query: `
      query Conditional($withReviews: Boolean!, $skipName: Boolean = false, $first: Int) {
        topProducts(first: $first) {
          upc
          name @skip(if: $skipName)
          reviews @include(if: $withReviews) { id author { username } }
          ... on Product @include(if: $withReviews) { inStock shippingEstimate }
        }
      }`,
    variables: { withReviews: false, skipName: true },
  },
  {
    name: 'lists of lists, enums, custom scalars',
    query: `{ topProducts(first: 7) { sizes kind } accounts { createdAt } users { role tags } }`,
  },
  {
    name: 'a mutation across subgraphs',
    query: `mutation Rename($upc: String!) { renameProduct(upc: $upc, name: "x") { upc name inStock reviews { id } } addReview(upc: $upc, body: "b") { id product { name } } }`,
    variables: { upc: 'u1' },
  },
  {
    name: 'one operation among several, by name',
    query: `query A { me { id } } query B { topProducts { name reviews { author { name } } } }`,
    operationName: 'B',
  },
  {
    name: 'only __typename',
    query: `{ __typename }`,
  },
];
