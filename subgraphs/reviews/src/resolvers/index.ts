import { Mutation } from './Mutation.ts';
import { Product } from './Product.ts';
import { Review } from './Review.ts';
import { User } from './User.ts';

export const resolvers = { Mutation, Product, User, Review };
