import { Mutation } from './Mutation.ts';
import { Product } from './Product.ts';
import { Query } from './Query.ts';
import { Subscription } from './Subscription.ts';

export const resolvers = { Query, Mutation, Subscription, Product };
