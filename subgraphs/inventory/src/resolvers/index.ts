import { Mutation } from './Mutation.ts';
import { Product } from './Product.ts';

export const resolvers = { Mutation, Product };
