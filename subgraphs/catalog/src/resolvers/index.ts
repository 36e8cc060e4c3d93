import { Mutation } from './Mutation.ts';
import { Product } from './Product.ts';
import { Query } from './Query.ts';

export const resolvers = { Query, Mutation, Product };
