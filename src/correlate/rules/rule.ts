import type { FindingCollector } from '../findings.js';
import type { Model, ModelListener } from '../model.js';
import type { RetryRule, RuleId } from '../types.js';

export interface RuleContext {
  readonly model: Model;
  readonly findings: FindingCollector;
  readonly policy: RetryRule;
}

/**
 * A family of rules: the ids it can report, and a factory that subscribes to
 * the model events it needs. The engine knows the list, never the insides.
 */
export interface RuleFamily {
  name: string;
  ruleIds: readonly RuleId[];
  create(ctx: RuleContext): ModelListener;
}
