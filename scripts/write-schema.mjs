// Writes the finding part of schema/report.schema.json from the rules' declarations
// (src/correlate/findings/): `npm run schema` after adding or changing a rule.
import { readFileSync, writeFileSync } from 'node:fs';
import { withDeclaredRules } from '../dist/correlate/findings/schema.js';

const file = new URL('../schema/report.schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(file, 'utf8'));
writeFileSync(file, JSON.stringify(withDeclaredRules(schema), null, 2) + '\n');
console.log('schema/report.schema.json: finding part written from src/correlate/findings/');
