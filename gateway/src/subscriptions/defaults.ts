/** Subscription caps when not configured (MAX_SUBSCRIPTIONS_PER_CONNECTION / _PER_USER). */
export const defaultSubscriptionLimits = { maxPerConnection: 25, maxPerUser: 100 };
