#!/usr/bin/env node
// One bundled module (scripts/bundle-cli.mjs): start-up links one file, not fifty.
import { main } from '../dist/cli.bundle.js';

await main(process.argv);
