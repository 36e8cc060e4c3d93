import type { NamedType, Operation, Schema, SelectionSet, Type } from '@apollo/federation-internals';
import { federation } from './apolloInternals.ts';

/**
 * Result shaping compiled once per operation: the same walk as @apollo/gateway's
 * `computeResponse` (resultShaping.js) over the merged subgraph data, in the same order over the
 * same normalized selection set, but with every schema lookup, directive lookup and type test
 * done when the operation is first seen instead of once per value of every response.
 *
 * It covers responses as they should be. Whatever `computeResponse` would report or repair (a
 * null in a non-null field, a value of the wrong type, an unknown `__typename`, a `@skip`
 * variable that is not a boolean) makes `shape` give up (`undefined`), and the caller then runs
 * Apollo's own `computeResponse` on the same data, so errors and partial data are Apollo's own.
 */
export interface CompiledShaping {
  /** The operation's data, or undefined when only Apollo's `computeResponse` may answer. */
  shape(input: Record<string, unknown>, requestVariables: Record<string, unknown> | undefined): Record<string, unknown> | undefined;
}

/** Why an operation cannot be shaped by the compiled path (it then runs on Apollo's executor). */
export class UnsupportedOperation extends Error {}

// Compiled types: one level of a field's type each.
const NON_NULL = 0;
const LIST = 1;
const COMPOSITE = 2;
const LEAF = 3;

type CompiledType =
  | { kind: typeof NON_NULL; ofType: CompiledType }
  | { kind: typeof LIST; ofType: CompiledType }
  | { kind: typeof COMPOSITE; name: string }
  | { kind: typeof LEAF; valid: (value: unknown) => boolean };

/** `@skip(if:)` / `@include(if:)`: a literal, or the name of a variable. */
interface Conditions {
  skip: boolean | string | undefined;
  include: boolean | string | undefined;
}

interface CompiledField {
  field: true;
  responseName: string;
  isTypename: boolean;
  conditions: Conditions | null;
  type: CompiledType;
  selectionSet: CompiledSelectionSet | null;
}

interface CompiledFragment {
  field: false;
  conditions: Conditions | null;
  /** Type condition, or null for a fragment without one. */
  typeCondition: string | null;
  /** The named types this fragment applies to (federation's `isSubtype(typeCondition, type)`). */
  appliesTo: ReadonlySet<string> | null;
  selectionSet: CompiledSelectionSet;
}

type CompiledSelectionSet = ReadonlyArray<CompiledField | CompiledFragment>;

/** Thrown inside `shape` where `computeResponse` would not take the plain path. */
const GIVE_UP: unique symbol = Symbol('give up');

/** What the compiled walk knows of the API schema, by type name. */
interface SchemaFacts {
  typeNames: ReadonlySet<string>;
  objectTypes: ReadonlySet<string>;
  compositeTypes: ReadonlySet<string>;
}

const integerString = /^-?(?:0|[1-9][0-9]*)$/;

/** Federation's `isValidLeafValue` for one leaf type, decided once. */
function leafValidator(type: NamedType, schema: Schema): (value: unknown) => boolean {
  if (federation.isCustomScalarType(type)) return () => true;
  if (federation.isEnumType(type)) {
    const values = new Set(type.values.map((value) => value.name));
    return (value) => typeof value === 'string' && values.has(value);
  }
  switch (type) {
    case schema.booleanType():
      return (value) => typeof value === 'boolean';
    case schema.intType():
      return (value) => typeof value === 'number' && Number.isFinite(value) && integerString.test(String(value));
    case schema.idType():
      return (value) => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value) && integerString.test(String(value)));
    case schema.floatType():
      return (value) => typeof value === 'number' && Number.isFinite(value);
    case schema.stringType():
      return (value) => typeof value === 'string';
    default:
      throw new UnsupportedOperation(`leaf type ${type.name} is not a scalar or an enum`);
  }
}

/** Compiles the shaping of one operation; throws UnsupportedOperation when it must run on Apollo's executor. */
export function compileShaping(operation: Operation): CompiledShaping {
  const schema = operation.schema();
  // Every type `schema.type(name)` finds, built-in ones included.
  const types = schema.allTypes();
  const facts: SchemaFacts = {
    typeNames: new Set(types.map((type) => type.name)),
    objectTypes: new Set(types.filter((type) => federation.isObjectType(type)).map((type) => type.name)),
    compositeTypes: new Set(types.filter((type) => federation.isCompositeType(type)).map((type) => type.name)),
  };
  const skipDirective = schema.skipDirective();
  const includeDirective = schema.includeDirective();
  const compiledSets = new Map<SelectionSet, CompiledSelectionSet>();
  const appliesToByCondition = new Map<string, ReadonlySet<string>>();
  const leafValidators = new Map<string, (value: unknown) => boolean>();
  let hasConditions = false;

  function conditionValue(directive: { arguments(): Record<string, unknown> } | undefined): boolean | string | undefined {
    if (!directive) return undefined;
    const value = directive.arguments().if;
    if (value instanceof federation.Variable) return value.name;
    if (typeof value === 'boolean') return value;
    throw new UnsupportedOperation('a @skip/@include condition that is neither a variable nor a boolean');
  }

  function conditionsOf(element: { appliedDirectivesOf(definition: unknown): ReadonlyArray<{ arguments(): Record<string, unknown> }> }): Conditions | null {
    const skip = conditionValue(element.appliedDirectivesOf(skipDirective)[0]);
    const include = conditionValue(element.appliedDirectivesOf(includeDirective)[0]);
    if (skip === undefined && include === undefined) return null;
    hasConditions = true;
    return { skip, include };
  }

  function compileType(type: Type): CompiledType {
    if (federation.isNonNullType(type)) return { kind: NON_NULL, ofType: compileType(type.ofType) };
    if (federation.isListType(type)) return { kind: LIST, ofType: compileType(type.ofType) };
    if (federation.isCompositeType(type)) return { kind: COMPOSITE, name: type.name };
    let valid = leafValidators.get(type.name);
    if (!valid) leafValidators.set(type.name, (valid = leafValidator(type as NamedType, schema)));
    return { kind: LEAF, valid };
  }

  function appliesTo(typeCondition: NamedType): ReadonlySet<string> {
    let names = appliesToByCondition.get(typeCondition.name);
    if (!names) {
      names = new Set(types.filter((type) => federation.isSubtype(typeCondition, type)).map((type) => type.name));
      appliesToByCondition.set(typeCondition.name, names);
    }
    return names;
  }

  function compileSelectionSet(selectionSet: SelectionSet): CompiledSelectionSet {
    const known = compiledSets.get(selectionSet);
    if (known) return known;
    const compiled: Array<CompiledField | CompiledFragment> = [];
    for (const selection of selectionSet.selections()) {
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        const responseName = field.responseName();
        // Output objects are plain objects: a response name that is also a property of every
        // object ('constructor', '__proto__', ...) would read or write that property instead.
        if (responseName in Object.prototype) throw new UnsupportedOperation(`response name ${responseName}`);
        if (field.definition.isSchemaIntrospectionField()) throw new UnsupportedOperation('introspection');
        const isTypename = field.name === federation.typenameFieldName;
        compiled.push({
          field: true,
          responseName,
          isTypename,
          conditions: conditionsOf(field),
          type: compileType(field.definition.type!),
          selectionSet: !isTypename && selection.selectionSet ? compileSelectionSet(selection.selectionSet) : null,
        });
      } else {
        const fragment = selection.element;
        compiled.push({
          field: false,
          conditions: conditionsOf(fragment),
          typeCondition: fragment.typeCondition?.name ?? null,
          appliesTo: fragment.typeCondition ? appliesTo(fragment.typeCondition) : null,
          selectionSet: compileSelectionSet(selection.selectionSet),
        });
      }
    }
    compiledSets.set(selectionSet, compiled);
    return compiled;
  }

  const root = compileSelectionSet(operation.selectionSet);
  const rootType = schema.schemaDefinition.rootType(operation.rootKind);
  if (!rootType) throw new UnsupportedOperation(`no ${operation.rootKind} root type`);
  const rootTypeName = rootType.name;
  const defaultedVariables = hasConditions ? operation.collectDefaultedVariableValues() : {};

  return {
    shape(input, requestVariables) {
      const variables = hasConditions ? { __proto__: null, ...defaultedVariables, ...requestVariables } : null;
      try {
        const data: Record<string, unknown> = {};
        applySelectionSet(facts, variables, input, root, data, rootTypeName);
        return data;
      } catch (error) {
        if (error === GIVE_UP) return undefined;
        throw error;
      }
    },
  };
}

function isSkipped(conditions: Conditions, variables: Record<string, unknown> | null): boolean {
  const value = (condition: boolean | string) => {
    if (typeof condition === 'boolean') return condition;
    const bound = variables?.[condition];
    if (typeof bound !== 'boolean') throw GIVE_UP;
    return bound;
  };
  return (conditions.skip !== undefined && value(conditions.skip)) || (conditions.include !== undefined && !value(conditions.include));
}

function applySelectionSet(
  facts: SchemaFacts,
  variables: Record<string, unknown> | null,
  input: Record<string, unknown>,
  selections: CompiledSelectionSet,
  output: Record<string, unknown>,
  parentType: string,
): void {
  for (let i = 0; i < selections.length; i++) {
    const selection = selections[i]!;
    if (selection.conditions !== null && isSkipped(selection.conditions, variables)) continue;
    if (selection.field) {
      const responseName = selection.responseName;
      const outputValue = output[responseName];
      let inputValue = input[responseName] ?? null;
      if (selection.isTypename) {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== '__typename') inputValue = input.__typename ?? null;
          const typeName = typeof inputValue === 'string' && facts.typeNames.has(inputValue) ? inputValue : parentType;
          if (!facts.objectTypes.has(typeName)) throw GIVE_UP;
          output[responseName] = typeName;
        }
        continue;
      }
      output[responseName] = outputValueOf(facts, variables, outputValue, selection.type, inputValue, selection.selectionSet, parentType);
    } else {
      const typename = input.__typename;
      if (typename && typeof typename !== 'string') throw GIVE_UP;
      if (selection.appliesTo === null || selection.appliesTo.has(typename ? (typename as string) : parentType)) {
        applySelectionSet(facts, variables, input, selection.selectionSet, output, selection.typeCondition ?? parentType);
      }
    }
  }
}

function outputValueOf(
  facts: SchemaFacts,
  variables: Record<string, unknown> | null,
  outputValue: unknown,
  type: CompiledType,
  inputValue: unknown,
  selectionSet: CompiledSelectionSet | null,
  parentType: string,
): unknown {
  if (outputValue === null || (outputValue !== undefined && selectionSet === null)) return outputValue;
  switch (type.kind) {
    case NON_NULL: {
      const updated = outputValueOf(facts, variables, outputValue, type.ofType, inputValue, selectionSet, parentType);
      // computeResponse reports the null and bubbles it up.
      if (updated === null) throw GIVE_UP;
      return updated;
    }
    case LIST: {
      if (inputValue === null) return null;
      if (!Array.isArray(inputValue)) throw GIVE_UP;
      if (outputValue !== undefined && (!Array.isArray(outputValue) || outputValue.length !== inputValue.length)) throw GIVE_UP;
      const previous = outputValue as unknown[] | undefined;
      const updated = new Array<unknown>(inputValue.length);
      for (let i = 0; i < inputValue.length; i++) {
        updated[i] = outputValueOf(facts, variables, previous === undefined ? undefined : previous[i], type.ofType, inputValue[i], selectionSet, parentType);
      }
      return updated;
    }
    case COMPOSITE: {
      if (inputValue === null) return null;
      if (selectionSet === null || typeof inputValue !== 'object' || Array.isArray(inputValue)) throw GIVE_UP;
      if (outputValue !== undefined && typeof outputValue !== 'object') throw GIVE_UP;
      const object = inputValue as Record<string, unknown>;
      const typename = object.__typename;
      if (typename !== undefined && typeof typename !== 'string') throw GIVE_UP;
      if (typename && !facts.compositeTypes.has(typename)) throw GIVE_UP;
      const output = (outputValue ?? {}) as Record<string, unknown>;
      applySelectionSet(facts, variables, object, selectionSet, output, typename || type.name);
      return output;
    }
    case LEAF:
      if (inputValue === null) return null;
      if (outputValue !== undefined || !type.valid(inputValue)) throw GIVE_UP;
      return inputValue;
  }
}
