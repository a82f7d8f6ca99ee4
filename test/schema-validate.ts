/**
 * A small JSON Schema (2020-12) checker for the keywords our schema uses:
 * type, const, enum, required, properties, additionalProperties, items,
 * $ref, oneOf, allOf, if/then. Returns the paths that do not conform.
 */
type Schema = Record<string, unknown>;

export function validate(value: unknown, schema: Schema, root: Schema = schema, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = (schema.$ref as string).replace('#/', '').split('/').reduce<unknown>((s, k) => (s as Schema)[k], root) as Schema;
    return validate(value, target, root, path);
  }
  const errors: string[] = [];
  if ('const' in schema && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(value, t as string))) errors.push(`${path}: expected ${types.join('|')}, got ${JSON.stringify(value)?.slice(0, 40)}`);
  }
  if (Array.isArray(schema.oneOf)) {
    const ok = schema.oneOf.filter((s) => validate(value, s as Schema, root, path).length === 0).length;
    if (ok !== 1) errors.push(`${path}: matches ${ok} of oneOf`);
  }
  if (Array.isArray(schema.allOf)) for (const s of schema.allOf) errors.push(...validate(value, s as Schema, root, path));
  if (schema.if && validate(value, schema.if as Schema, root, path).length === 0 && schema.then) {
    errors.push(...validate(value, schema.then as Schema, root, path));
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in obj)) errors.push(`${path}: missing ${k}`);
    const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...validate(v, props[k], root, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected ${k}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        errors.push(...validate(v, schema.additionalProperties as Schema, root, `${path}.${k}`));
      }
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items as Schema, root, `${path}[${i}]`)));
  return errors;
}

function typeMatches(v: unknown, t: string): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'integer': return Number.isInteger(v);
    case 'number': return typeof v === 'number';
    case 'array': return Array.isArray(v);
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    default: return typeof v === t;
  }
}
