import { writeFileSync } from 'node:fs';
import { printSchemaFile } from '../src/schema/print.js';

// `npm run schema`: writes schema.graphql from the Pothos schema (the drift test compares the two).
const target = new URL('../schema.graphql', import.meta.url);
writeFileSync(target, printSchemaFile());
process.stdout.write(`wrote ${target.pathname}\n`);
