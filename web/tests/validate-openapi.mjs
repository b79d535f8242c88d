// Validates docs/openapi.json with two independent OpenAPI validators: the document the server
// serves, the console's generated types and the routes must agree with a standard, not with
// themselves. Exit status 0 only when both accept it. Usage: node validate-openapi.mjs FILE
import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate-openapi.mjs docs/openapi.json");
  process.exit(2);
}
const document = JSON.parse(await readFile(file, "utf8"));
let failed = false;

const schemaValidator = new Validator();
const result = await schemaValidator.validate(structuredClone(document));
if (result.valid) {
  console.log(`@seriousme/openapi-schema-validator: valid OpenAPI ${schemaValidator.version}`);
} else {
  failed = true;
  console.error("@seriousme/openapi-schema-validator: INVALID");
  console.error(JSON.stringify(result.errors, null, 2).slice(0, 4000));
}

try {
  // validate() also resolves every $ref and checks the paths' parameters against their templates.
  await SwaggerParser.validate(structuredClone(document));
  console.log("@apidevtools/swagger-parser: valid");
} catch (error) {
  failed = true;
  console.error(`@apidevtools/swagger-parser: INVALID: ${error.message}`);
}
process.exit(failed ? 1 : 0);
