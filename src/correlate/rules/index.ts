import { keepAlive } from './keep-alive.js';
import { protocol } from './protocol.js';
import { retries } from './retries.js';
import type { RuleFamily } from './rule.js';
import { teardown } from './teardown.js';

/** Every rule family the correlator runs. A new family is a new file and one line here. */
export const RULE_FAMILIES: readonly RuleFamily[] = [retries, keepAlive, teardown, protocol];
