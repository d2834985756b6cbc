// Offline validation of rendered Kubernetes objects against the API of the oldest and the newest
// Kubernetes minor the chart supports. The versions and the packages that carry each one are listed
// under "octoberKubernetes" in <tools dir>/package.json; every object is checked on every version:
//
//  0. The tools themselves: the @kubernetes/client-node copy of a version must say it was generated
//     from that release ("OpenAPI ... release-1.NN" in its model headers), and the property names of
//     a set of core types in the kubernetes-models copy must equal the client's, so the two
//     packages, built independently, agree on the version.
//  1. Served API: the apiVersion/kind must be served by that release. The client-node copy has one
//     API class per group/version with a create call per kind; its body model must come from that
//     release's generation (stale files of removed APIs keep an older header and do not count).
//     kubernetes-models alone cannot tell: it merges the schemas of older releases to keep APIs
//     that were removed. Objects of CRD groups (Prometheus operator, KEDA, Gateway API, cert-manager) skip this check.
//  2. Schema: the kubernetes-models model's validate() checks types, required fields, enums and
//     formats (quantities, int-or-string...). It does not flag unknown fields.
//  3. TypeScript: every object becomes `const o: I<Kind> = {...}` typed with that version's
//     declarations; excess-property checks on object literals catch unknown fields (a typo, or a
//     field the release does not have yet) at any depth, and wrong types again.
//
// Usage: node k8s_validate.mjs <tools dir> <objects.json>
// objects.json is a JSON array of {"source": "...", "object": {...}}. Prints one line per problem
// ("<source> <Kind>/<name> [k8s 1.NN] <path>: <message>") and exits 1 if any; prints a summary and
// exits 0 otherwise. An object whose apiVersion/kind has no model, or is not served, is a problem,
// never a silent pass.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [toolsArg, inputFile] = process.argv.slice(2);
if (!toolsArg || !inputFile) {
  console.error("usage: node k8s_validate.mjs <tools dir> <objects.json>");
  process.exit(2);
}
const toolsDir = path.resolve(toolsArg);
const modulesDir = path.join(toolsDir, "node_modules");
const require = createRequire(path.join(toolsDir, "package.json"));
const ts = require("typescript");
const entries = JSON.parse(readFileSync(inputFile, "utf8"));
const toolsManifest = JSON.parse(readFileSync(path.join(toolsDir, "package.json"), "utf8"));

const versionOf = (pkg) => JSON.parse(readFileSync(path.join(modulesDir, pkg, "package.json"), "utf8")).version;
const VERSIONS = Object.entries(toolsManifest.octoberKubernetes ?? {})
  .map(([k8s, { models, openapi }]) => ({ k8s, models, openapi }))
  .sort((a, b) => a.k8s.localeCompare(b.k8s, "en", { numeric: true }));
if (VERSIONS.length === 0) {
  console.error(`k8s_validate: no "octoberKubernetes" versions in ${path.join(toolsDir, "package.json")}`);
  process.exit(2);
}

// Groups served by CRDs, validated with their own model packages on every version.
const CRD_PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "cert-manager.io": "@kubernetes-models/cert-manager",
};

const problems = [];
const label = (e) => `${e.source} ${e.object?.kind ?? "?"}/${e.object?.metadata?.name ?? "?"}`;
const tag = (v) => `[k8s ${v.k8s}]`;

// --- 0. the packages of each version ------------------------------------------------------------
const pascal = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s) => s.charAt(0).toLowerCase() + s.slice(1);
const STAMP = /OpenAPI (?:spec version|document): (\S+)/;

// client-node 0.x keeps its generated code in dist/gen/{api,model}/camelCase.js, 1.x and later in
// dist/gen/{apis,models}/PascalCase.js.
function clientLayout(pkg) {
  const gen = path.join(modulesDir, pkg, "dist", "gen");
  return existsSync(path.join(gen, "models"))
    ? { api: (c) => path.join(gen, "apis", `${c}.d.ts`), model: (m) => path.join(gen, "models", `${m}.js`) }
    : { api: (c) => path.join(gen, "api", `${lowerFirst(c)}.d.ts`), model: (m) => path.join(gen, "model", `${lowerFirst(m)}.js`) };
}
const readIf = (file) => (existsSync(file) ? readFileSync(file, "utf8") : undefined);

// Core types whose property names both packages of a version must agree on.
const FINGERPRINT = [
  ["v1/PodSpec", "V1PodSpec"], ["v1/Container", "V1Container"], ["v1/SecurityContext", "V1SecurityContext"],
  ["v1/PodSecurityContext", "V1PodSecurityContext"], ["v1/Probe", "V1Probe"], ["v1/ServiceSpec", "V1ServiceSpec"],
  ["v1/PersistentVolumeClaimSpec", "V1PersistentVolumeClaimSpec"], ["apps/v1/DeploymentSpec", "V1DeploymentSpec"],
  ["autoscaling/v2/HorizontalPodAutoscalerSpec", "V2HorizontalPodAutoscalerSpec"],
  ["networking.k8s.io/v1/NetworkPolicySpec", "V1NetworkPolicySpec"], ["networking.k8s.io/v1/IngressSpec", "V1IngressSpec"],
  ["policy/v1/PodDisruptionBudgetSpec", "V1PodDisruptionBudgetSpec"],
];
const declaredProps = (text) => new Set([...text.matchAll(/^ {4}"?([A-Za-z_$][\w$]*)"?\??:/gm)].map((m) => m[1]));
const clientProps = (text) => new Set([...text.matchAll(/"baseName":\s*"([^"]+)"/g)].map((m) => m[1]));

for (const v of VERSIONS) {
  const absent = [v.models, v.openapi].filter((pkg) => !existsSync(path.join(modulesDir, pkg, "package.json")));
  for (const pkg of absent) problems.push(`tools ${tag(v)}: package ${pkg} is not installed in ${modulesDir}`);
  if (absent.length) continue;
  v.layout = clientLayout(v.openapi);
  v.release = `release-${v.k8s}`;
  const stamp = readIf(v.layout.model("V1Pod"))?.match(STAMP)?.[1];
  if (stamp !== v.release) {
    problems.push(`tools ${tag(v)}: ${v.openapi} was generated from ${stamp ?? "an unknown release"}, not ${v.release}`);
  }
  for (const [decl, model] of FINGERPRINT) {
    const a = readIf(path.join(modulesDir, v.models, `${decl}.d.ts`));
    const b = readIf(v.layout.model(model));
    if (!a || !b) {
      problems.push(`tools ${tag(v)}: ${a ? "" : `${v.models}/${decl} `}${b ? "" : `${v.openapi} ${model} `}missing`);
      continue;
    }
    const [pa, pb] = [declaredProps(a), clientProps(b)];
    const diff = [...[...pa].filter((p) => !pb.has(p)).map((p) => `+${p}`), ...[...pb].filter((p) => !pa.has(p)).map((p) => `-${p}`)];
    if (diff.length) {
      problems.push(`tools ${tag(v)}: ${v.models} ${decl} and ${v.openapi} ${model} disagree (${diff.join(" ")})`);
    }
  }
  v.describe = `${v.k8s} (kubernetes-models ${versionOf(v.models)}, @kubernetes/client-node ${versionOf(v.openapi)} ${v.release})`;
}
if (problems.length) {
  for (const p of problems) console.log(p);
  console.log(`k8s_validate: ${problems.length} problem(s) with the tools, nothing validated`);
  process.exit(1);
}

// --- 1. served API --------------------------------------------------------------------------------
// Why apiVersion/kind is not served by release v, or undefined when it is.
function notServed(v, group, version, kind) {
  const groupName = group ? group.replace(/\.k8s\.io$/, "").split(/[.-]/).map(pascal).join("") : "Core";
  const apiClass = `${groupName}${pascal(version)}Api`;
  const api = readIf(v.layout.api(apiClass));
  if (!api) return `no ${apiClass} in ${v.openapi}`;
  const body = api.match(new RegExp(`\\bcreate(?:Namespaced)?${kind}\\((?:namespace: string, )?body: (\\w+)`))?.[1];
  if (!body) return `${apiClass} of ${v.openapi} has no create call for ${kind}`;
  const stamp = readIf(v.layout.model(body))?.match(STAMP)?.[1];
  if (stamp !== v.release) return `${v.openapi} ${body} is left from ${stamp ?? "no release"}, not ${v.release}`;
  return undefined;
}

// --- 2. JSON-schema validation --------------------------------------------------------------------
// apiVersion + kind -> module path of the model (and of the `I<Kind>` interface) on version v.
function modulePath(v, group, version, kind) {
  if (CRD_PACKAGES[group]) return `${CRD_PACKAGES[group]}/${group}/${version}/${kind}`;
  return group ? `${v.models}/${group}/${version}/${kind}` : `${v.models}/${version}/${kind}`;
}

// Loads the model class from its file: the 1.27 package is CommonJS, the newer one ESM only (and
// exports no `require` condition), so both go through import() of the file itself.
async function loadModel(mod, kind) {
  const file = path.join(modulesDir, `${mod}.js`);
  if (!existsSync(file)) return undefined;
  const loaded = await import(pathToFileURL(file).href);
  return loaded[kind] ?? loaded.default?.[kind];
}

const typed = [];
for (const entry of entries) {
  const obj = entry.object;
  if (!obj || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    problems.push(`${label(entry)}: no apiVersion/kind`);
    continue;
  }
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/", 2) : ["", obj.apiVersion];
  const wellFormed = /^[a-z0-9.-]*$/.test(group) && /^v[0-9a-z]+$/.test(version) && /^[A-Z][A-Za-z0-9]*$/.test(obj.kind);
  for (const v of VERSIONS) {
    const where = `${label(entry)} ${tag(v)}`;
    const mod = modulePath(v, group, version, obj.kind);
    const Model = wellFormed ? await loadModel(mod, obj.kind) : undefined;
    if (typeof Model !== "function") {
      problems.push(`${where} no schema for ${obj.apiVersion} ${obj.kind} (${mod})`);
      continue;
    }
    if (!CRD_PACKAGES[group]) {
      const why = notServed(v, group, version, obj.kind);
      if (why) {
        problems.push(`${where} apiVersion: ${obj.apiVersion} ${obj.kind} is not served by Kubernetes ${v.k8s} (${why})`);
        continue;
      }
    }
    try {
      new Model(obj).validate();
    } catch (err) {
      const details = Array.isArray(err.errors) && err.errors.length
        ? err.errors.map((e) => `${e.instancePath || "/"} ${e.message}`)
        : [String(err.message ?? err)];
      for (const d of details) problems.push(`${where} schema: ${d}`);
    }
    typed.push({ entry, mod, v });
  }
}

// --- 3. TypeScript excess-property and type checks -------------------------------------------------
// One program for all versions: each (object, version) pair is one typed constant.
const lines = [];
const spans = []; // [firstLine, lastLine, entry, version] per constant, 0-based lines of the virtual file
typed.forEach(({ entry, mod }, i) => {
  lines.push(`import type { I${entry.object.kind} as T${i} } from ${JSON.stringify(mod)};`);
});
typed.forEach(({ entry, v }, i) => {
  const first = lines.length;
  const body = JSON.stringify(entry.object, null, 2).split("\n");
  lines.push(`export const o${i}: T${i} = ${body[0]}`, ...body.slice(1));
  lines[lines.length - 1] += ";";
  spans.push([first, lines.length - 1, entry, v]);
});
const virtualFile = path.join(toolsDir, "__rendered_objects__.ts");
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
  const span = diag.file === sourceFile ? spans.find(([a, b]) => a <= line && line <= b) : undefined;
  const where = span ? `${label(span[2])} ${tag(span[3])}` : `typescript ${diag.file.fileName} line ${line + 1}`;
  const at = diag.file === sourceFile ? ` ${jsonPath(diag.start)}` : "";
  problems.push(`${where}${at}: ${message.replace(/\s+/g, " ").slice(0, 400)}`);
}

if (problems.length) {
  for (const p of problems) console.log(p);
  console.log(`k8s_validate: ${problems.length} problem(s) in ${entries.length} object(s)`);
  process.exit(1);
}
console.log(`k8s_validate: ${entries.length} object(s) valid (served API + schema + unknown fields) on Kubernetes ` +
  VERSIONS.map((v) => v.describe).join(" and "));
