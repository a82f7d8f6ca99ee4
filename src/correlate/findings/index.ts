/**
 * Every rule the report can carry, one declaration a file (its id, severity, details type and
 * schema, sentence). A new rule is a new file here and one line in RULES; the family that
 * detects it reports it with `findings.add(DECLARATION, place, details, facts)`.
 */
import { maxOf } from '../../common/numbers.js';
import { CAPTURE_GAP } from './capture-gap.js';
import { CID_REUSE_IN_FLIGHT } from './cid-reuse-in-flight.js';
import { CONNECTION_RESET } from './connection-reset.js';
import type { DetailsOf } from './declare.js';
import { DIGEST_MISMATCH } from './digest-mismatch.js';
import { DUPLICATE_EXECUTION } from './duplicate-execution.js';
import { ERROR_STATUS } from './error-status.js';
import { KEEP_ALIVE_LATE } from './keep-alive-late.js';
import { KEEP_ALIVE_TIMEOUT } from './keep-alive-timeout.js';
import { ORIGINAL_ALIVE_AFTER_RETRY } from './original-alive-after-retry.js';
import { PROTOCOL_VIOLATION } from './protocol-violation.js';
import { RETRY_AFTER_FENCE, RETRY_AFTER_KATO, RETRY_BEFORE_KATO } from './retry.js';
import { STALE_DATA_AFTER_RETRY } from './stale-data-after-retry.js';
import { TERM_REQ } from './term-req.js';
import { TIMEOUT_DURING_RECOVERY } from './timeout-during-recovery.js';
import { TLS_NOT_DECRYPTED } from './tls-not-decrypted.js';
import { UNANSWERED_COMMAND } from './unanswered-command.js';
import { UNKNOWN_PDU } from './unknown-pdu.js';

/** In the order the report schema lists them. */
export const RULES = [
  RETRY_BEFORE_KATO,
  RETRY_AFTER_KATO,
  RETRY_AFTER_FENCE,
  DUPLICATE_EXECUTION,
  STALE_DATA_AFTER_RETRY,
  ORIGINAL_ALIVE_AFTER_RETRY,
  KEEP_ALIVE_TIMEOUT,
  KEEP_ALIVE_LATE,
  UNANSWERED_COMMAND,
  ERROR_STATUS,
  TERM_REQ,
  PROTOCOL_VIOLATION,
  CID_REUSE_IN_FLIGHT,
  CONNECTION_RESET,
  DIGEST_MISMATCH,
  CAPTURE_GAP,
  UNKNOWN_PDU,
  TIMEOUT_DURING_RECOVERY,
  TLS_NOT_DECRYPTED,
] as const;

type Declared = (typeof RULES)[number];

export type RuleId = Declared['id'];

/** Details by rule id: one shape per rule. */
export type FindingDetails = { [R in Declared as R['id']]: DetailsOf<R> };

/** The rules capped per association in the report (counted in Markdown). */
export const NOISY_RULES: ReadonlySet<RuleId> = new Set(RULES.filter((r) => r.noisy).map((r) => r.id));

/** The longest rule id: the reports' rule column is this wide. */
export const RULE_ID_WIDTH = maxOf(RULES.map((r) => r.id.length));
