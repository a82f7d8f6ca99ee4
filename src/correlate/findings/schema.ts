import type { JsonSchema } from './declare.js';
import { RULES } from './index.js';

interface ReportSchema {
  $defs: { [name: string]: JsonSchema } & { finding: { properties: { ruleId: JsonSchema }; allOf: JsonSchema[] } };
}

/** A count line (a rule's findings past its cap) carries these details instead of the rule's. */
const COUNT_LINE = { $ref: '#/$defs/suppressedDetails' };

/**
 * The report schema with its finding part written from the rules' declarations: the rule id
 * enum, one `if ruleId … then details …` branch per rule, and each rule's details under its
 * `$defs` name. `npm run schema` writes schema/report.schema.json with it; a test checks the
 * committed file is what the declarations write.
 */
export function withDeclaredRules<S extends ReportSchema>(schema: S): S {
  const out = structuredClone(schema);
  const finding = out.$defs.finding;
  finding.properties.ruleId = { enum: RULES.map((r) => r.id) };
  finding.allOf = RULES.map((r) => ({
    if: { properties: { ruleId: { const: r.id } } },
    then: { properties: { details: { oneOf: [{ $ref: `#/$defs/${r.details.name}` }, COUNT_LINE] } } },
  }));
  const byName = new Map<string, JsonSchema>();
  for (const r of RULES) {
    // Rules sharing a shape share one declared object: two different ones under one name are a mistake.
    if ((byName.get(r.details.name) ?? r.details.schema) !== r.details.schema) throw new Error(`two different schemas are declared as ${r.details.name}`);
    byName.set(r.details.name, r.details.schema);
    (out.$defs as Record<string, JsonSchema>)[r.details.name] = r.details.schema;
  }
  return out;
}
