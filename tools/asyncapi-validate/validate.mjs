// Validate AsyncAPI documents offline with the official AsyncAPI parser.
//
// Usage: node validate.mjs FILE...
//
// Each file is parsed with @asyncapi/parser, with the OpenAPI schema parser registered so that
// payloads declared with schemaFormat `application/vnd.oai.openapi;version=3.0.0` are validated
// too. Every diagnostic is printed as `file:line:col: severity message (code) at path`. The exit
// status is 1 when any document has an error-severity diagnostic (or cannot be read), else 0.
//
// Validation must not depend on the network: remote `$ref`s fail with a clear message instead of
// being fetched, so a green run means the files on disk are complete.
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

import { OpenAPISchemaParser } from '@asyncapi/openapi-schema-parser';
import { DiagnosticSeverity, Parser, fromFile } from '@asyncapi/parser';

function refuseNetwork(url) {
  throw new Error(`remote reference ${String(url)} is not allowed: validation runs offline`);
}
for (const mod of [http, https]) {
  mod.request = refuseNetwork;
  mod.get = refuseNetwork;
}

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

function render(file, diagnostic) {
  const start = diagnostic.range?.start ?? { line: 0, character: 0 };
  const where = `${diagnostic.source ?? file}:${start.line + 1}:${start.character + 1}`;
  const at = diagnostic.path?.length ? ` at /${diagnostic.path.join('/')}` : '';
  const level = SEVERITY[diagnostic.severity] ?? String(diagnostic.severity);
  return `${where}: ${level} ${diagnostic.message} (${diagnostic.code})${at}`;
}

async function validateFile(parser, file) {
  const source = path.resolve(file);
  let output;
  try {
    output = await fromFile(parser, source).parse();
  } catch (error) {
    console.log(`${source}: error ${error.message}`);
    return false;
  }
  let ok = output.document !== undefined;
  for (const diagnostic of output.diagnostics) {
    console.log(render(source, diagnostic));
    if (diagnostic.severity === DiagnosticSeverity.Error) ok = false;
  }
  console.log(`${source}: ${ok ? 'valid' : 'INVALID'}`);
  return ok;
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node validate.mjs FILE...');
    return 2;
  }
  const parser = new Parser({ schemaParsers: [OpenAPISchemaParser()] });
  let ok = true;
  for (const file of files) {
    ok = (await validateFile(parser, file)) && ok;
  }
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
