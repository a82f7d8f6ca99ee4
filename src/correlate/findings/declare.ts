import type { Severity } from '../types.js';

/** A JSON Schema (2020-12) fragment, as schema/report.schema.json writes it. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** Where a finding is: the frames that prove it, the time of its event, its association, queue and command. */
export interface FindingPlace {
  frames: number[];
  time: number;
  assoc: number | null;
  qid: number | null;
  cid: number | null;
  /** Derived from the frames unless given. */
  wiresharkFilter?: string;
}

/**
 * Everything about one rule but how it is detected: its id, whether it is noisy, its details
 * (the TypeScript type `D` and the report schema's `$defs` entry, side by side), how severe a
 * finding is and what it says. `F`: the facts the severity or the sentence needs beyond the
 * details (an association, a connection…), handed over by the family that reports it.
 * The report schema's finding branches are written from these (npm run schema).
 */
export interface RuleDeclaration<Id extends string = string, D = unknown, F = void> {
  readonly id: Id;
  /** Can fire once per command, segment or connection: capped per association in the report, counted in Markdown. */
  readonly noisy: boolean;
  /** The details' `$defs` name and schema; rules sharing one shape give the same object. */
  readonly details: { readonly name: string; readonly schema: JsonSchema };
  severity(details: D, facts: F): Severity;
  sentence(details: D, facts: F): string;
}

/** Declares a rule whose details are `D` (and facts `F`): `declareRule<D, F>()({ id, … })` keeps the id's literal type. */
export function declareRule<D, F = void>() {
  return <const Id extends string>(declaration: RuleDeclaration<Id, D, F>): RuleDeclaration<Id, D, F> => declaration;
}

/** The details type of a declaration. */
export type DetailsOf<R> = R extends RuleDeclaration<string, infer D, infer _F> ? D : never;
/** The facts type of a declaration. */
export type FactsOf<R> = R extends RuleDeclaration<string, infer _D, infer F> ? F : never;

/**
 * The schema of a kernel log or trace line placed on the capture's clock (which file, which line,
 * its time, the last frame before it, its text): the first fields of every object that cites one.
 */
export const PLACED_LINE_SCHEMA = {
  required: ['source', 'line', 'time', 'afterFrame', 'text'],
  properties: {
    source: { type: 'integer' },
    line: { type: 'integer' },
    time: { type: 'number' },
    afterFrame: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/frameRef' }] },
    text: { type: 'string' },
  },
};
