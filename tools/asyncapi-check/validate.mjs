// Validates laborcoop's AsyncAPI document with the AsyncAPI project's own parser.
//
//   node validate.mjs [path/to/asyncapi.json]   (default: docs/events/asyncapi.json of this repo)
//
// Prints every diagnostic (severity, JSON path, message) and exits 1 when any is an error, or
// when the parser produced no document; 0 otherwise. Warnings are printed but do not fail, so a
// style rule of the parser's ruleset never blocks a valid contract. The payload schemas the
// document refers to by relative file name (e.g. "cn.laborcoop....v1.json") are resolved next
// to the document, as a partner reading docs/events/ would.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, fromFile } from '@asyncapi/parser';

const SEVERITY = ['error', 'warning', 'info', 'hint'];
const here = path.dirname(fileURLToPath(import.meta.url));
const target = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'docs', 'events', 'asyncapi.json'));

const { document, diagnostics } = await fromFile(new Parser(), target).parse();
let errors = 0;
for (const diagnostic of diagnostics) {
  const severity = SEVERITY[diagnostic.severity] ?? String(diagnostic.severity);
  if (diagnostic.severity === 0) errors += 1;
  const where = diagnostic.path.length ? diagnostic.path.join('.') : '(document)';
  console.log(`${severity} ${diagnostic.code} at ${where}: ${diagnostic.message}`);
}
if (errors > 0 || document === undefined) {
  console.log(`${target}: ${errors} error(s); not a valid AsyncAPI document`);
  process.exit(1);
}
console.log(`${target}: valid AsyncAPI ${document.version()}, ${diagnostics.length} non-error diagnostic(s)`);
