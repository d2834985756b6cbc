// Offline validation of rendered Kubernetes objects against the API schema, two ways:
//
//  1. kubernetes-models (OpenAPI of Kubernetes 1.33, plus the Prometheus operator and KEDA CRDs):
//     each object's model validate() checks types, required fields, enums and formats
//     (quantities, int-or-string...). It does not flag unknown fields.
//  2. TypeScript: every object becomes `const o: I<Kind> = {...}` and is type-checked against the
//     same package's declarations; excess-property checks on object literals catch unknown
//     (typo'd) fields at any depth, and wrong types again.
//
// Usage: node k8s_validate.mjs <tools dir> <objects.json>
// objects.json is a JSON array of {"source": "...", "object": {...}}. Prints one line per problem
// ("<source> <Kind>/<name> <path>: <message>") and exits 1 if any; prints a summary and exits 0
// otherwise. An object whose apiVersion/kind has no model is a problem, never a silent pass.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [toolsDir, inputFile] = process.argv.slice(2);
if (!toolsDir || !inputFile) {
  console.error("usage: node k8s_validate.mjs <tools dir> <objects.json>");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(toolsDir), "package.json"));
const ts = require("typescript");
const entries = JSON.parse(readFileSync(inputFile, "utf8"));

// apiVersion + kind -> module path (and the exported model class / interface names).
function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  }
  if (group === "keda.sh") return `@kubernetes-models/keda/${group}/${version}/${kind}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

const problems = [];
const label = (e) =>
  `${e.source} ${e.object?.kind ?? "?"}/${e.object?.metadata?.name ?? "?"}`;

// --- 1. JSON-schema validation --------------------------------------------------------------
const typed = [];
for (const entry of entries) {
  const obj = entry.object;
  if (!obj || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    problems.push(`${label(entry)}: no apiVersion/kind`);
    continue;
  }
  const mod = modulePath(obj.apiVersion, obj.kind);
  let Model;
  try {
    Model = require(mod)[obj.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    problems.push(`${label(entry)}: no schema for ${obj.apiVersion} ${obj.kind} (${mod})`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (err) {
    const details = Array.isArray(err.errors) && err.errors.length
      ? err.errors.map((e) => `${e.instancePath || "/"} ${e.message}`)
      : [String(err.message ?? err)];
    for (const d of details) problems.push(`${label(entry)} schema: ${d}`);
  }
  typed.push({ entry, mod });
}

// --- 2. TypeScript excess-property and type checks -------------------------------------------
const lines = [];
const spans = []; // [firstLine, lastLine, entry] per object, 0-based lines of the virtual file
typed.forEach(({ entry, mod }, i) => {
  lines.push(`import type { I${entry.object.kind} as T${i} } from ${JSON.stringify(mod)};`);
});
typed.forEach(({ entry }, i) => {
  const first = lines.length;
  const body = JSON.stringify(entry.object, null, 2).split("\n");
  lines.push(`export const o${i}: T${i} = ${body[0]}`, ...body.slice(1));
  lines[lines.length - 1] += ";";
  spans.push([first, lines.length - 1, entry]);
});
const virtualFile = path.join(path.resolve(toolsDir), "__rendered_objects__.ts");
const sourceText = lines.join("\n") + "\n";

const options = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
  target: ts.ScriptTarget.ES2020,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
};
const host = ts.createCompilerHost(options);
const baseGetSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (name, lang, onError, create) =>
  path.resolve(name) === virtualFile
    ? ts.createSourceFile(name, sourceText, lang, true)
    : baseGetSourceFile(name, lang, onError, create);
const baseFileExists = host.fileExists.bind(host);
host.fileExists = (name) => path.resolve(name) === virtualFile || baseFileExists(name);
const baseReadFile = host.readFile.bind(host);
host.readFile = (name) => (path.resolve(name) === virtualFile ? sourceText : baseReadFile(name));

const program = ts.createProgram([virtualFile], options, host);
const sourceFile = program.getSourceFile(virtualFile);

// JSON path of the node at `pos`: property names and array indexes up to the object literal.
function jsonPath(pos) {
  let node = sourceFile;
  for (;;) {
    const child = node.getChildren(sourceFile).find((c) => c.getStart(sourceFile) <= pos && pos < c.getEnd());
    if (!child) break;
    node = child;
  }
  const parts = [];
  for (let n = node; n && n.parent; n = n.parent) {
    if (ts.isPropertyAssignment(n.parent) && n.parent.name === n) continue;
    if (ts.isPropertyAssignment(n)) parts.unshift(`.${n.name.text ?? n.name.getText(sourceFile)}`);
    if (ts.isArrayLiteralExpression(n.parent)) parts.unshift(`[${n.parent.elements.indexOf(n)}]`);
    if (ts.isVariableDeclaration(n)) break;
  }
  return parts.join("").replace(/^\./, "") || "(object)";
}

for (const diag of ts.getPreEmitDiagnostics(program)) {
  const message = ts.flattenDiagnosticMessageText(diag.messageText, " ");
  if (!diag.file || diag.start === undefined) {
    problems.push(`typescript: ${message}`);
    continue;
  }
  const { line } = diag.file.getLineAndCharacterOfPosition(diag.start);
  const span = spans.find(([a, b]) => a <= line && line <= b);
  const where = span ? label(span[2]) : `line ${line + 1}`;
  problems.push(`${where} ${jsonPath(diag.start)}: ${message.replace(/\s+/g, " ").slice(0, 400)}`);
}

if (problems.length) {
  for (const p of problems) console.log(p);
  console.log(`k8s_validate: ${problems.length} problem(s) in ${entries.length} object(s)`);
  process.exit(1);
}
console.log(`k8s_validate: ${entries.length} object(s) valid (schema + unknown fields)`);
