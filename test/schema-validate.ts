import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

/** The report schema, compiled once by Ajv (JSON Schema 2020-12, strict mode). */
const schema = JSON.parse(readFileSync(new URL('../schema/report.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
const check = ajv.compile(schema);

/** The places where `report` does not conform to the schema, one line each (empty when it conforms). */
export function schemaErrors(report: unknown): string[] {
  if (check(report)) return [];
  return (check.errors ?? []).map((e) => `${e.instancePath || '$'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
}
