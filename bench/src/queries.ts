/** The operations the bench sends, one per workload. */

/** The public gateways benchmark's query (its k6.js), verbatim in shape. */
export const publicBenchmarkQuery = `fragment User on User {
  id
  username
  name
}

fragment Review on Review {
  id
  body
}

fragment Product on Product {
  inStock
  name
  price
  shippingEstimate
  upc
  weight
}

query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews {
          ...Review
          author {
            ...User
            reviews {
              ...Review
              product {
                ...Product
              }
            }
          }
        }
      }
    }
  }
  topProducts {
    ...Product
    reviews {
      ...Review
      author {
        ...User
        reviews {
          ...Review
          product {
            ...Product
          }
        }
      }
    }
  }
}`;

/** A products page with stock and the latest reviews: catalog, inventory, reviews and accounts. */
export const mercadoProductsQuery = `query ProductsPage {
  products(first: 20) {
    edges {
      node {
        id
        name
        priceCents
        stock { available reserved }
        reviews(first: 3) { rating author { name } }
      }
    }
  }
}`;

/** A signed-in customer's orders: accounts, orders and catalog. */
export const mercadoMeOrdersQuery = `query MyOrders {
  me { orders { lines { quantity product { name } } } }
}`;

/** One subgraph only (catalog), to measure what the gateway adds. */
export const oneSubgraphQuery = `query OneSubgraph {
  products(first: 20) { edges { node { id name priceCents } } }
}`;

export const loginMutation = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token }
}`;
