import { Order } from './Order.ts';
import { OrderLine } from './OrderLine.ts';
import { Query } from './Query.ts';
import { User } from './User.ts';

export const resolvers = { Query, User, Order, OrderLine };
