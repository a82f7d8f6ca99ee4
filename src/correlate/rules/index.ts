import { episodes } from './episodes.js';
import { keepAlive } from './keep-alive.js';
import { kernelLog } from './kernel-log.js';
import { kernelTrace } from './kernel-trace.js';
import { protocol } from './protocol.js';
import { retries } from './retries.js';
import type { RuleFamily } from './rule.js';
import { teardown } from './teardown.js';
import { tls } from './tls.js';

/**
 * Every rule family the correlator runs: what detects the findings declared in src/correlate/findings/.
 * A new family is a new file and one line here. Order matters at the end of the capture: the kernel
 * log, then the trace, add to the findings the retries family completed.
 */
export const RULE_FAMILIES: readonly RuleFamily[] = [retries, keepAlive, teardown, protocol, tls, kernelLog, kernelTrace, episodes];
