// Validates docs/asyncapi.yaml with the official AsyncAPI parser (@asyncapi/parser), resolving
// the order schema it references from the file next to it, and then checks what the parser
// cannot know: that the three topics and every header of contract §2 are described.
// Usage: node validate.mjs <asyncapi.yaml> (dependencies from $ASYNCAPI_DEPS, see validate.sh).
import { createRequire } from 'node:module';
import path from 'node:path';

const deps = process.env.ASYNCAPI_DEPS;
const file = process.argv[2];
if (!deps || !file) {
  console.error('usage: ASYNCAPI_DEPS=<dir with node_modules> node validate.mjs <asyncapi.yaml>');
  process.exit(2);
}
// The packages live in a cache outside the clone, so resolve them from there.
const require = createRequire(path.join(deps, 'package.json'));
const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');

const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, path.resolve(file)).parse();
const severities = ['error', 'warning', 'information', 'hint'];
let failed = 0;
for (const diagnostic of diagnostics) {
  const severity = severities[diagnostic.severity] ?? String(diagnostic.severity);
  const where = diagnostic.path?.join('.') || '(document)';
  console.error(`${severity}: ${where}: ${diagnostic.message} [${diagnostic.code}]`);
  if (diagnostic.severity <= DiagnosticSeverity.Warning) failed += 1;
}
if (!document) {
  console.error(`asyncapi: ${file} did not parse`);
  process.exit(1);
}

// The contract's topics and headers (§2, §11): a missing one is a documentation bug.
const expectHeaders = {
  'orders.dlq': [
    'x-original-topic', 'x-original-partition', 'x-original-offset', 'x-original-timestamp',
    'x-error-kind', 'x-error-message', 'x-attempts', 'x-failed-at', 'x-consumer-group',
    'x-value-omitted', 'traceparent', 'x-replayed-from',
  ],
  'orders.retry': ['x-attempts', 'x-retry-not-before', 'x-original-topic', 'traceparent'],
  orders: ['traceparent', 'x-replayed-from'],
};
const headerNames = (schema) => {
  if (!schema) return [];
  const own = Object.keys(schema.properties() ?? {});
  const inherited = (schema.allOf() ?? []).flatMap(headerNames);
  return [...own, ...inherited];
};
for (const [address, wanted] of Object.entries(expectHeaders)) {
  const channel = document.allChannels().all().find((c) => c.address() === address);
  if (!channel) {
    console.error(`asyncapi: no channel for topic ${address}`);
    failed += 1;
    continue;
  }
  for (const message of channel.messages().all()) {
    const names = headerNames(message.headers());
    for (const header of wanted.filter((name) => !names.includes(name))) {
      console.error(`asyncapi: ${address} message ${message.id()} lacks header ${header}`);
      failed += 1;
    }
  }
}
const order = document.allChannels().all().find((c) => c.address() === 'orders')
  ?.messages().all()[0]?.payload();
const required = order?.required() ?? [];
for (const field of ['order_uid', 'delivery', 'payment', 'items', 'date_created']) {
  if (!required.includes(field)) {
    console.error(`asyncapi: the orders payload does not require ${field} (schema not resolved?)`);
    failed += 1;
  }
}
if (failed > 0) {
  console.error(`asyncapi: ${failed} problem(s) in ${file}`);
  process.exit(1);
}
console.log(`asyncapi: ${file} is valid AsyncAPI ${document.version()}; ` +
  `${document.allChannels().length} channels, ${document.allOperations().length} operations`);
