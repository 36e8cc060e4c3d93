import { parse, visit } from 'graphql';

/**
 * Keeps every name of a supergraph (types, fields, arguments, enum values, directives) as a
 * one-byte (Latin-1) string in V8's table of property names, for as long as the gateway runs.
 *
 * Why: V8 stores a property name once, in whichever representation it was first seen. While
 * @apollo/gateway loads a supergraph, @apollo/federation-internals prints schemas and re-parses
 * them, and those printed strings come out two-byte (UTF-16) even when every character is ASCII
 * (measured on Node 20: `toGraphQLJSSchema()` makes `price`, `upc`, `inStock` two-byte). The
 * field names of every response object are then two-byte too, and one two-byte name anywhere
 * turns `JSON.stringify` of the whole response two-byte: twice the bytes to build, to flatten
 * before writing (an 87 KB response became a 175 KB string, twice per request, allocated where
 * only a full garbage collection frees it) and to encode to UTF-8. On the public benchmark's
 * workload that was about 90 MB of peak heap. Seeing each name first here, parsed from the
 * supergraph file (one-byte when the file is ASCII), makes those later lookups find the
 * one-byte name.
 *
 * Call it before the gateway loads the supergraph. It only changes how strings are stored,
 * never what they contain.
 */
const names: Record<string, true> = Object.create(null);

export function pinSupergraphNames(supergraphSdl: string): void {
  visit(parse(supergraphSdl, { noLocation: true }), {
    Name(node) {
      // A Latin-1 copy: one-byte even when the file itself is not (a description with an emoji
      // makes the whole text UTF-16); names are ASCII, so the copy is the same name.
      names[Buffer.from(node.value, 'latin1').toString('latin1')] = true;
    },
  });
}
