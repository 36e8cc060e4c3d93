import { seedId } from './ids.ts';

export { seedId };

/** Development accounts. Their passwords are in the README; never use them anywhere real. */
export const seedUsers = [
  { id: seedId('user:admin'), email: 'admin@mercado.dev', name: 'Ada Admin', role: 'admin' as const, password: 'admin-password' },
  { id: seedId('user:alice'), email: 'alice@mercado.dev', name: 'Alice Customer', role: 'customer' as const, password: 'alice-password' },
  { id: seedId('user:bob'), email: 'bob@mercado.dev', name: 'Bob Customer', role: 'customer' as const, password: 'bob-password' },
  { id: seedId('user:carol'), email: 'carol@mercado.dev', name: 'Carol Customer', role: 'customer' as const, password: 'carol-password' },
];

const catalogue: Record<string, string[]> = {
  books: ['Distributed Systems', 'Designing Data-Intensive Applications', 'Release It!', 'The Phoenix Project', 'Refactoring', 'Domain-Driven Design', 'Building Microservices', 'Site Reliability Engineering', 'Clean Architecture', 'The Pragmatic Programmer', 'Accelerate', 'Database Internals'],
  coffee: ['Ethiopia Yirgacheffe', 'Colombia Huila', 'Kenya AA', 'Guatemala Antigua', 'Brazil Cerrado', 'Sumatra Mandheling', 'Costa Rica Tarrazu', 'Rwanda Bourbon', 'Espresso Blend', 'Decaf Swiss Water'],
  kitchen: ['Pour-over Kettle', 'Burr Grinder', 'French Press', 'Chef Knife', 'Cast Iron Pan', 'Cutting Board', 'Digital Scale', 'Milk Frother', 'Moka Pot', 'Tea Infuser'],
  outdoor: ['Trail Backpack', 'Camping Stove', 'Headlamp', 'Water Filter', 'Sleeping Bag', 'Trekking Poles', 'Rain Shell', 'Insulated Bottle', 'Compass', 'Hammock'],
  office: ['Mechanical Keyboard', 'Ergonomic Mouse', 'Monitor Arm', 'Desk Lamp', 'Notebook A5', 'Fountain Pen', 'Standing Desk Mat', 'Noise-cancelling Headphones', 'USB-C Hub', 'Webcam HD'],
};

/** 52 products in five categories; prices and stock derived from the position, so stable. */
export const seedProducts = Object.entries(catalogue).flatMap(([category, names]) =>
  names.map((name, i) => {
    const sku = `${category.slice(0, 3).toUpperCase()}-${String(i + 1).padStart(3, '0')}`;
    return {
      id: seedId(`product:${sku}`),
      sku,
      name,
      description: `${name}: a ${category} staple, chosen by the Mercado team.`,
      priceCents: 500 + ((i * 7919 + category.length * 104729) % 9500),
      currency: 'EUR',
      category,
      stock: (i * 13 + category.length * 7) % 40,
    };
  }),
);

const reviewTexts = [
  { rating: 5, body: 'Exactly what I hoped for. Would buy again.' },
  { rating: 4, body: 'Very good, a few rough edges.' },
  { rating: 3, body: 'Does the job; nothing special.' },
  { rating: 2, body: 'Arrived late and smaller than pictured.' },
];

/** Two or three reviews per product by the customers, spread deterministically. */
export const seedReviews = seedProducts.flatMap((product, p) => {
  const customers = seedUsers.filter((u) => u.role === 'customer');
  const count = 2 + (p % 2);
  return Array.from({ length: count }, (_, k) => {
    const author = customers[(p + k) % customers.length]!;
    const text = reviewTexts[(p + k) % reviewTexts.length]!;
    // Fixed dates, so "newest first" is the same on every machine.
    const createdAt = new Date(Date.UTC(2026, 8, 1 + ((p * 3 + k * 7) % 28), 12));
    return { id: seedId(`review:${product.sku}:${k}`), productId: product.id, authorId: author.id, createdAt, ...text };
  });
});

/** Past orders for each customer, priced from the seed products. */
export const seedOrders = seedUsers
  .filter((u) => u.role === 'customer')
  .flatMap((user, u) =>
    [0, 1].map((n) => {
      const lines = [0, 1, 2].slice(0, 1 + ((u + n) % 3)).map((l) => {
        const product = seedProducts[(u * 11 + n * 5 + l * 3) % seedProducts.length]!;
        return { productId: product.id, productName: product.name, quantity: 1 + ((l + n) % 3), unitPriceCents: product.priceCents };
      });
      return {
        id: seedId(`order:${user.email}:${n}`),
        userId: user.id,
        status: 'CONFIRMED' as const,
        currency: 'EUR',
        placedAt: new Date(Date.UTC(2026, 9, 1 + u * 3 + n)),
        lines,
      };
    }),
  );

/**
 * Each customer's credit limit with payments, by user id. Payments records the past orders
 * above as captured, so a limit is what the customer may still spend plus those orders' totals:
 * Alice has 5000.00 EUR left, Bob 30.00 (so that his big orders decline), Carol 2000.00.
 */
export const seedCreditLimits: Record<string, number> = Object.fromEntries(
  (
    [
      ['alice@mercado.dev', 500_000],
      ['bob@mercado.dev', 3_000],
      ['carol@mercado.dev', 200_000],
    ] as const
  ).map(([email, availableCents]) => {
    const user = seedUsers.find((u) => u.email === email)!;
    const pastCents = seedOrders
      .filter((o) => o.userId === user.id)
      .reduce((sum, o) => sum + o.lines.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0), 0);
    return [user.id, availableCents + pastCents];
  }),
);
