import { Mutation } from './Mutation.ts';
import { Order } from './Order.ts';
import { SagaStep } from './Saga.ts';
import { OrderLine } from './OrderLine.ts';
import { Query } from './Query.ts';
import { Subscription } from './Subscription.ts';
import { User } from './User.ts';

export const resolvers = { Query, Mutation, Subscription, User, Order, OrderLine, SagaStep };
