// validate-k8s.cjs — check Kubernetes manifests against the API schemas, offline.
//
//     NODE_PATH=DIR/node_modules node validate-k8s.cjs FILE.yaml...
//
// Every document of every file is one object; it gets one line, "ok NAME" or
// "not ok NAME: why", where NAME is FILE:KIND/name.  Two checks per object:
//   1. kubernetes-models (4.x): the model class of its apiVersion and kind validates it
//      against the OpenAPI schema (required fields, types, enums, formats);
//   2. unknown fields: those schemas let any extra key through, so a misspelt field
//      (`readinesProbe`) would pass and be dropped by the API server.  The field lists
//      come from the package's own type declarations (.d.ts), followed from the
//      object's kind down through every nested type.
// Exit status 0 when every object passed, 1 otherwise, 2 on a usage error.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const modelsDir = path.dirname(require.resolve("kubernetes-models/package.json"));
const nodeModules = path.dirname(modelsDir);

// --- field lists from the .d.ts files --------------------------------------------------
// A .d.ts file declares one interface and imports the types of its fields:
//     import { IIoK8sApiCoreV1PodSpec } from "../../v1/PodSpec";
//     export interface IPodTemplateSpec {
//         "metadata"?: IIoK8sApimachineryPkgApisMetaV1ObjectMeta;
//         "labels"?: {
//             [key: string]: string;
//         };
const parsed = new Map(); // file -> {fields: Map(name -> type) | null, imports: Map}

function parseDts(file) {
    if (parsed.has(file)) return parsed.get(file);
    let text = "";
    try { text = fs.readFileSync(file, "utf8"); } catch (e) { /* unknown: no check */ }
    const imports = new Map();
    for (const m of text.matchAll(/^import \{([^}]*)\} from "([^"]+)";$/gm))
        for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean))
            imports.set(name, m[2]);
    let fields = null;
    const body = text.match(/^export interface \w+(?: extends [^{]*)? \{\n([\s\S]*?)^\}$/m);
    if (body) {
        fields = new Map();
        const lines = body[1].split("\n");
        for (let i = 0; i < lines.length; i++) {
            const m = lines[i].match(/^ {4}"([^"]+)"\??: (.*);?$/);
            if (!m) continue;
            let type = m[2].replace(/;$/, "");
            if (type === "{") { // a map: the next line holds the value type
                const v = (lines[i + 1] || "").match(/\[key: string\]: (.*);$/);
                type = "map:" + (v ? v[1] : "any");
            }
            fields.set(m[1], type);
        }
        if (/^ {4}\[key: string\]/m.test(body[1])) fields = null; // open object
    }
    const entry = { fields, imports, dir: path.dirname(file) };
    parsed.set(file, entry);
    return entry;
}

function importFile(entry, typeName) {
    const spec = entry.imports.get(typeName);
    if (!spec) return null;
    return (spec.startsWith(".") ? path.resolve(entry.dir, spec) : path.join(nodeModules, spec))
        + ".d.ts";
}

// Walk VALUE as TYPE (a type written in FROM's file); push "path: unknown field" errors.
function walk(value, type, from, where, errors) {
    if (value === null || value === undefined) return;
    let m;
    if ((m = type.match(/^Array<(.+)>$/))) {
        if (Array.isArray(value))
            value.forEach((v, i) => walk(v, m[1], from, `${where}[${i}]`, errors));
        return;
    }
    if (type.startsWith("map:")) {
        if (typeof value === "object" && !Array.isArray(value))
            for (const [k, v] of Object.entries(value))
                walk(v, type.slice(4), from, `${where}.${k}`, errors);
        return;
    }
    if (!/^I\w+$/.test(type)) return; // a primitive, a literal or a union
    const file = importFile(from, type);
    if (!file) return;
    checkFields(value, parseDts(file), where, errors);
}

function checkFields(value, entry, where, errors) {
    if (!entry.fields || typeof value !== "object" || Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value)) {
        const t = entry.fields.get(k);
        if (t === undefined) errors.push(`${where ? where + "." : ""}${k}: unknown field`);
        else walk(v, t, entry, `${where ? where + "." : ""}${k}`, errors);
    }
}

// --- one object -----------------------------------------------------------------------
function modelFor(apiVersion, kind) {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const dir = group ? `${group}/${version}` : version;
    let mod;
    try { mod = require(`kubernetes-models/${dir}/${kind}`); } catch (e) { return null; }
    return { Model: mod[kind], dts: path.join(modelsDir, dir, `${kind}.d.ts`) };
}

function validate(obj) {
    if (!obj || typeof obj !== "object") return ["not an object"];
    if (!obj.apiVersion || !obj.kind) return ["no apiVersion or kind"];
    const model = modelFor(obj.apiVersion, obj.kind);
    if (!model || !model.Model) return [`unknown kind ${obj.apiVersion} ${obj.kind}`];
    const errors = [];
    try {
        new model.Model(obj).validate();
    } catch (e) {
        errors.push(String(e.message || e).replace(/\s+/g, " "));
    }
    checkFields(obj, parseDts(model.dts), "", errors);
    return errors;
}

// --- main -----------------------------------------------------------------------------
const files = process.argv.slice(2);
if (files.length === 0) {
    console.error("usage: validate-k8s.cjs FILE.yaml...");
    process.exit(2);
}
let failed = 0;
for (const file of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
    for (const doc of docs) {
        if (doc.errors.length) {
            console.log(`not ok ${file}: YAML: ${doc.errors[0].message}`);
            failed++;
            continue;
        }
        const obj = doc.toJS();
        if (obj === null || obj === undefined) continue; // an empty document
        const name = `${path.basename(file)}:${obj.kind}/${(obj.metadata || {}).name}`;
        const errors = validate(obj);
        if (errors.length === 0) {
            console.log(`ok k8s_schema ${name}`);
        } else {
            console.log(`not ok k8s_schema ${name}: ${errors.join("; ")}`);
            failed++;
        }
    }
}
process.exit(failed ? 1 : 0);
