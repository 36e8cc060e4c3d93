import { describe, expect, it } from 'vitest';
import { services } from '@mercado/system';
import { graphql } from '../executor/apolloInternals.ts';
import { liveFields, toLiveQuery } from './liveFields.ts';

const live = (text: string, variables: Record<string, unknown> = {}) => {
  const document = graphql.parse(text);
  return toLiveQuery(document, graphql.getOperationAST(document)!, variables);
};

describe('a subscription as its query', () => {
  it('reads the same object under the key the subscriber asked for, with its fragments and variables', () => {
    const q = live('subscription Follow($id: ID!) { orderUpdated(id: $id) { status ...L } } fragment L on Order { lines { quantity } }', { id: 'o-1' });
    expect(q).toMatchObject({ responseKey: 'orderUpdated', aggregateId: 'o-1', events: ['orders.OrderStatusChanged'] });
    expect(q.query).toBe('query Follow($id: ID!) {\n  orderUpdated: order(id: $id) {\n    status\n    ...L\n  }\n}\n\nfragment L on Order {\n  lines {\n    quantity\n  }\n}');
    expect(live('subscription { p: productUpdated(id: "x") { priceCents } }')).toMatchObject({ responseKey: 'p', aggregateId: 'x' });
  });

  it('refuses what it cannot follow', () => {
    expect(() => live('subscription { productUpdated { priceCents } }')).toThrow(/needs an id/);
    expect(() => live('subscription { somethingElse(id: "1") { x } }')).toThrow(/does not serve/);
  });

  it('follows only events some service of the manifest publishes', () => {
    const published = new Set(services.flatMap((s) => s.produces.map((type) => `${s.name}.${type}`)));
    for (const { events } of Object.values(liveFields)) for (const key of events) expect(published, key).toContain(key);
  });
});
