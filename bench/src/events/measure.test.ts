import { describe, expect, it } from 'vitest';
import { percentiles, table } from './measure.ts';

describe('percentiles', () => {
  it('takes the nearest rank, whatever the order of the samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 .. 1
    expect(percentiles(samples)).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });

  it('lets one slow sample in a hundred set p99 only when it is the 99th', () => {
    expect(percentiles([...Array<number>(99).fill(5), 900]).p99).toBe(5);
    expect(percentiles([...Array<number>(98).fill(5), 900, 900]).p99).toBe(900);
  });

  it('reports no figure for no samples rather than zero', () => {
    const empty = percentiles([]);
    expect(empty.count).toBe(0);
    expect(Number.isNaN(empty.p50) && Number.isNaN(empty.p99) && Number.isNaN(empty.max)).toBe(true);
  });
});

describe('table', () => {
  it('pads the first column left-aligned and the others right-aligned', () => {
    expect(table([['name', 'rate'], ['raw', '20,000'], ['pipeline', '900']]).split('\n')).toEqual([
      'name         rate',
      '--------   ------',
      'raw        20,000',
      'pipeline      900',
    ]);
  });
});
