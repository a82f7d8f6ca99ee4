import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RuleId } from '../types.js';
import { NOISY_RULES, RULE_FAMILIES } from './index.js';
import { MESSAGES, SENTENCE_OF } from '../messages.js';

/** Every rule id the report can carry: the compiler checks this list against FindingDetails, both ways. */
const ALL: Record<RuleId, true> = {
  'retry-before-kato': true, 'retry-after-kato': true, 'retry-after-fence': true, 'duplicate-execution': true, 'stale-data-after-retry': true,
  'original-alive-after-retry': true, 'timeout-during-recovery': true, 'keep-alive-timeout': true, 'keep-alive-late': true,
  'unanswered-command': true, 'error-status': true, 'term-req': true, 'protocol-violation': true, 'cid-reuse-in-flight': true,
  'connection-reset': true, 'digest-mismatch': true, 'capture-gap': true, 'unknown-pdu': true, 'tls-not-decrypted': true,
};
const schema = JSON.parse(readFileSync(new URL('../../../schema/report.schema.json', import.meta.url), 'utf8'));

describe('rule declarations', () => {
  it('every rule id belongs to exactly one family', () => {
    const declared = RULE_FAMILIES.flatMap((f) => f.ruleIds);
    expect([...declared].sort()).toEqual(Object.keys(ALL).sort());
    expect(new Set(declared).size).toBe(declared.length);
  });

  it('every rule id has its schema branch: in the ruleId enum and an if/then giving its details', () => {
    const finding = schema.$defs.finding;
    expect([...finding.properties.ruleId.enum].sort()).toEqual(Object.keys(ALL).sort());
    const branches = finding.allOf.map((b: { if: { properties: { ruleId: { const: string } } } }) => b.if.properties.ruleId.const);
    expect([...branches].sort()).toEqual(Object.keys(ALL).sort());
  });

  it('every rule id has its sentence: a message function the family calls', () => {
    for (const id of Object.keys(ALL) as RuleId[]) expect(typeof MESSAGES[SENTENCE_OF[id]], id).toBe('function');
    expect(Object.keys(SENTENCE_OF).sort()).toEqual(Object.keys(ALL).sort());
  });

  it('one noisy-rule list, drawn from the families, each noisy rule one of the family\'s own', () => {
    for (const f of RULE_FAMILIES) for (const id of f.noisy ?? []) expect(f.ruleIds, `${f.name}: ${id}`).toContain(id);
    expect([...NOISY_RULES].sort()).toEqual(['capture-gap', 'cid-reuse-in-flight', 'connection-reset', 'digest-mismatch', 'error-status', 'protocol-violation', 'tls-not-decrypted', 'unanswered-command', 'unknown-pdu']);
  });
});
