#!/usr/bin/env -S node --import tsx
/**
 * `mercado-bundle <entry.ts>...`: compiles a deployable's entry points into ./dist (the `build`
 * script of the gateway and of every subgraph; turbo caches it).
 */
import { resolve } from 'node:path';
import { bundleForNode } from './bundle.ts';

const entries = process.argv.slice(2);
if (!entries.length) {
  console.error('usage: mercado-bundle <entry.ts>...   (writes ./dist)');
  process.exit(2);
}
await bundleForNode(entries.map((entry) => resolve(entry)), resolve('dist'));
console.log(`built ${entries.join(', ')} into ${resolve('dist')}`);
