import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NOISY_RULES, RULES } from '../findings/index.js';
import { withDeclaredRules } from '../findings/schema.js';
import { RETRY_RULES } from '../types.js';

const schema = JSON.parse(readFileSync(new URL('../../../schema/report.schema.json', import.meta.url), 'utf8'));

describe('rule declarations', () => {
  it('every rule id is declared once, in the report\'s spelling', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+(-[a-z]+)*$/);
    for (const id of RETRY_RULES) expect(ids).toContain(id);
  });

  it('the committed report schema is what the declarations write (npm run schema)', () => {
    expect(withDeclaredRules(schema)).toEqual(schema);
    expect(schema.$defs.finding.properties.ruleId.enum).toEqual(RULES.map((r) => r.id));
    const branches = schema.$defs.finding.allOf.map((b: { if: { properties: { ruleId: { const: string } } } }) => b.if.properties.ruleId.const);
    expect(branches).toEqual(RULES.map((r) => r.id));
  });

  it('every details shape in the schema belongs to a declared rule, and a hand edit of one in the file is caught', () => {
    const declared = new Set(RULES.map((r) => r.details.name));
    const shapes = Object.keys(schema.$defs).filter((k) => k.endsWith('Details') && k !== 'suppressedDetails');
    expect(shapes.filter((k) => !declared.has(k))).toEqual([]);
    const changed = withDeclaredRules({ ...schema, $defs: { ...schema.$defs, termReqDetails: { type: 'object' } } });
    expect(changed.$defs.termReqDetails).toEqual(schema.$defs.termReqDetails);
  });

  it('every rule has a severity and a sentence, and one noisy-rule list comes from the declarations', () => {
    for (const r of RULES) {
      expect(typeof r.severity, r.id).toBe('function');
      expect(typeof r.sentence, r.id).toBe('function');
    }
    expect([...NOISY_RULES].sort()).toEqual(['capture-gap', 'cid-reuse-in-flight', 'connection-reset', 'digest-mismatch', 'error-status', 'protocol-violation', 'tls-not-decrypted', 'unanswered-command', 'unknown-pdu']);
  });
});
