import { writeFileSync } from 'node:fs';
import { referenceFile, renderConfigReference } from './reference.js';

/** `npm run -s config-reference`: rewrites docs/configuration.md from the schema. */
writeFileSync(referenceFile, renderConfigReference());
process.stdout.write(`wrote ${referenceFile}\n`);
