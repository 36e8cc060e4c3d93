import { Mutation } from './Mutation.ts';
import { Order } from './Order.ts';
import { Payment } from './Payment.ts';
import { User } from './User.ts';

export const resolvers = { Mutation, User, Order, Payment };
