#!/usr/bin/env node
// Shortens the wasm's import and export names (binaryen's --minify-imports-and-exports-and-modules)
// and rewrites wasm-bindgen's `--target web` glue to match. Part of scripts/build-pkg.sh.
//
//   node scripts/minify-names.mjs <dir> [--out-name core]      (<dir> holds core.js and core_bg.wasm)
//
// wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` and every export after its Rust
// item; both names sit in the wasm (import/export sections) and in the glue (the keys of the imports
// object, and `wasm.<export>` calls). binaryen renames them to `a`, `b`, … and prints the mapping
// (JSON on stdout); this script then renames, in the glue:
//   - the keys of `import0` in `__wbg_get_imports()` (the shims the wasm imports), and its return
//     value's module names (all modules become binaryen's one short module);
//   - every `wasm.<export>` reference (exports are only reached through the `wasm` variable).
// Nothing else changes: the glue's own `export function`/`export class` names, which the entry
// module (authflight.js) imports, keep their names. Exports the glue never references (e.g.
// `__wbindgen_free`) are removed from the wasm instead, and import shims the wasm no longer
// imports (wasm-opt removed their last call) are removed from the glue.
//
// It fails (exit 1, message on stderr) whenever the glue does not have the expected shape or a name
// cannot be accounted for, so a wasm-bindgen or binaryen upgrade cannot ship a silently broken
// package. After rewriting it links the new wasm against the new glue's imports object in Node
// (WebAssembly.Instance, without running the start function) and checks every `wasm.X` the glue
// calls is exported.
//
// Environment: WASM_OPT (default: node_modules/.bin/wasm-opt of this repository, npm binaryen).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STRING_CONSTANTS_MODULE = 'wasm:js/string-constants';

class Failure extends Error {}
const temporary = []; // files removed on exit, success or not
const fail = (msg) => {
  throw new Failure(msg);
};
const log = (msg) => console.error(`minify-names: ${msg}`);

// ---------------------------------------------------------------------------------------------
// A small JavaScript tokenizer: enough to find balanced braces and object-literal entries in
// generated code without being fooled by strings, template literals, comments or regexps.

const KEYWORDS_BEFORE_EXPR = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do',
  'else', 'yield', 'await',
]);
const OPERATOR_CHARS = '=!<>&|+-*%^~?:';

function tokenize(src) {
  const toks = [];
  const templateDepth = []; // one counter per open `${`: braces opened inside it
  let i = 0;
  const regexAllowed = () => {
    const p = toks[toks.length - 1];
    if (!p) return true;
    if (p.type === 'ident') return KEYWORDS_BEFORE_EXPR.has(p.value);
    if (p.type === 'punct') return !(p.value === ')' || p.value === ']' || p.value === '}');
    return false; // after a number, string, template or regexp: division
  };
  const readTemplate = (start) => {
    // From just after '`' or after the '}' closing a `${`: up to the closing '`' or the next '${'.
    let j = start;
    for (;;) {
      if (j >= src.length) fail(`unterminated template literal at ${start}`);
      const c = src[j];
      if (c === '\\') j += 2;
      else if (c === '`') return { end: j + 1, opensExpr: false };
      else if (c === '$' && src[j + 1] === '{') return { end: j + 2, opensExpr: true };
      else j++;
    }
  };
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      const e = src.indexOf('\n', i);
      i = e < 0 ? src.length : e;
    } else if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      if (e < 0) fail(`unterminated comment at ${i}`);
      i = e + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (src[j] !== c) {
        if (j >= src.length || src[j] === '\n') fail(`unterminated string at ${i}`);
        j += src[j] === '\\' ? 2 : 1;
      }
      toks.push({ type: 'string', value: JSON.parse(c === '"' ? src.slice(i, j + 1) : JSON.stringify(src.slice(i + 1, j))), start: i, end: j + 1 });
      i = j + 1;
    } else if (c === '`' || (c === '}' && templateDepth.length && templateDepth[templateDepth.length - 1] === 0)) {
      if (c === '}') templateDepth.pop();
      const { end, opensExpr } = readTemplate(i + 1);
      if (opensExpr) templateDepth.push(0);
      toks.push({ type: 'template', value: src.slice(i, end), start: i, end });
      i = end;
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[\w$]/.test(src[j])) j++;
      toks.push({ type: 'ident', value: src.slice(i, j), start: i, end: j });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1]))) {
      let j = i + 1;
      while (j < src.length && /[\w.]/.test(src[j])) j++;
      toks.push({ type: 'number', value: src.slice(i, j), start: i, end: j });
      i = j;
    } else if (c === '/' && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      for (;;) {
        if (j >= src.length || src[j] === '\n') fail(`unterminated regexp at ${i}`);
        const d = src[j];
        if (d === '\\') j++;
        else if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      j++;
      while (j < src.length && /[a-z]/.test(src[j])) j++;
      toks.push({ type: 'regex', value: src.slice(i, j), start: i, end: j });
      i = j;
    } else if (OPERATOR_CHARS.includes(c) && !(c === '?' && src[i + 1] === '.')) {
      let j = i + 1;
      while (j < src.length && OPERATOR_CHARS.includes(src[j]) && src.slice(j, j + 2) !== '?.') j++;
      toks.push({ type: 'punct', value: src.slice(i, j), start: i, end: j });
      i = j;
    } else if (c === '.' && src.slice(i, i + 3) === '...') {
      toks.push({ type: 'punct', value: '...', start: i, end: i + 3 });
      i += 3;
    } else if (c === '?' && src[i + 1] === '.') {
      toks.push({ type: 'punct', value: '?.', start: i, end: i + 2 });
      i += 2;
    } else if ('{}()[];,.#@'.includes(c)) {
      if (templateDepth.length) {
        if (c === '{') templateDepth[templateDepth.length - 1]++;
        if (c === '}') templateDepth[templateDepth.length - 1]--;
      }
      toks.push({ type: 'punct', value: c, start: i, end: i + 1 });
      i++;
    } else {
      fail(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
    }
  }
  if (templateDepth.length) fail('unterminated template literal');
  return toks;
}

const OPEN = { '{': '}', '(': ')', '[': ']' };
const isPunct = (t, v) => t && t.type === 'punct' && t.value === v;

/** Index of the token closing the bracket opened at toks[k]. */
function closing(toks, k) {
  const stack = [];
  for (let j = k; j < toks.length; j++) {
    const t = toks[j];
    if (t.type !== 'punct') continue;
    if (OPEN[t.value]) stack.push(OPEN[t.value]);
    else if (t.value === '}' || t.value === ')' || t.value === ']') {
      if (stack.pop() !== t.value) fail(`unbalanced ${t.value} at offset ${t.start}`);
      if (!stack.length) return j;
    }
  }
  fail(`no closing bracket for offset ${toks[k].start}`);
}

/**
 * Entries of the object literal whose '{' is toks[open]: [{ key, keyTok, valueFirst, valueLast,
 * last }] where `last` is the index of the entry's trailing comma (or of its value's last token).
 */
function objectEntries(toks, open) {
  const close = closing(toks, open);
  const entries = [];
  let k = open + 1;
  while (k < close) {
    const keyTok = toks[k];
    if (!(keyTok.type === 'ident' || keyTok.type === 'string') || !isPunct(toks[k + 1], ':')) {
      fail(`unexpected object entry at offset ${keyTok.start}: ${JSON.stringify(keyTok.value)} (only \`key: value\` entries are understood)`);
    }
    let j = k + 2;
    const valueFirst = j;
    while (j < close && !isPunct(toks[j], ',')) j = OPEN[toks[j].value] && toks[j].type === 'punct' ? closing(toks, j) + 1 : j + 1;
    const valueLast = j - 1;
    if (valueLast < valueFirst) fail(`empty value for ${keyTok.value} at offset ${keyTok.start}`);
    entries.push({ key: keyTok.value, keyTok, valueFirst, valueLast, last: j < close ? j : valueLast });
    k = j + 1;
  }
  return { entries, close };
}

// ---------------------------------------------------------------------------------------------

/** What the glue's `__wbg_get_imports()` and its `wasm.X` references look like. */
function analyseGlue(src, selfModule) {
  const toks = tokenize(src);
  // Every bracket in the file must balance: a cheap check that the tokenizer read it right.
  const stack = [];
  for (const t of toks) {
    if (t.type !== 'punct') continue;
    if (OPEN[t.value]) stack.push(OPEN[t.value]);
    else if ((t.value === '}' || t.value === ')' || t.value === ']') && stack.pop() !== t.value) fail(`the glue's brackets do not balance at offset ${t.start}; cannot parse it`);
  }
  if (stack.length) fail("the glue's brackets do not balance; cannot parse it");
  const fnIdx = [];
  for (let k = 0; k + 1 < toks.length; k++) {
    if (toks[k].type === 'ident' && toks[k].value === 'function' && toks[k + 1].value === '__wbg_get_imports') fnIdx.push(k);
  }
  if (fnIdx.length !== 1) fail(`expected one \`function __wbg_get_imports\` in the glue, found ${fnIdx.length} (not wasm-bindgen --target web output?)`);
  const paramsOpen = fnIdx[0] + 2;
  if (!isPunct(toks[paramsOpen], '(')) fail('unexpected __wbg_get_imports signature');
  const bodyOpen = closing(toks, paramsOpen) + 1;
  if (!isPunct(toks[bodyOpen], '{')) fail('unexpected __wbg_get_imports body');
  const bodyClose = closing(toks, bodyOpen);

  // Top-level statements of the body: `const import0 = { … };` and `return { … };`.
  let import0 = null;
  let ret = null;
  for (let k = bodyOpen + 1; k < bodyClose; ) {
    const t = toks[k];
    if (t.type === 'ident' && (t.value === 'const' || t.value === 'let' || t.value === 'var') && toks[k + 1].type === 'ident' && isPunct(toks[k + 2], '=') && isPunct(toks[k + 3], '{')) {
      if (import0) fail(`more than one object in __wbg_get_imports (${import0.name}, ${toks[k + 1].value}); unknown glue shape`);
      import0 = { name: toks[k + 1].value, open: k + 3, ...objectEntries(toks, k + 3) };
      k = import0.close + 1;
    } else if (t.type === 'ident' && t.value === 'return' && isPunct(toks[k + 1], '{')) {
      ret = { open: k + 1, ...objectEntries(toks, k + 1) };
      k = ret.close + 1;
    } else if (isPunct(t, ';')) {
      k++;
    } else {
      fail(`unexpected statement in __wbg_get_imports at offset ${t.start}: ${JSON.stringify(src.slice(t.start, t.start + 60))}`);
    }
  }
  if (!import0 || !ret) fail('__wbg_get_imports: did not find `const import0 = {…}` and `return {…}`');

  // import0's keys: the shims, each defined exactly once.
  const shims = new Map();
  for (const e of import0.entries) {
    if (e.key === '__proto__') continue;
    if (e.keyTok.type !== 'ident') fail(`quoted import key ${JSON.stringify(e.key)} in ${import0.name}`);
    if (shims.has(e.key)) fail(`import ${e.key} defined twice in ${import0.name}`);
    shims.set(e.key, e);
  }
  // The returned modules: selfModule → import0, others → namespace objects (`import * as importN`).
  const modules = new Map();
  for (const e of ret.entries) {
    if (e.key === '__proto__') continue;
    if (e.valueFirst !== e.valueLast || toks[e.valueFirst].type !== 'ident') {
      fail(`__wbg_get_imports returns module ${JSON.stringify(e.key)} as an expression this script does not understand: ${src.slice(toks[e.valueFirst].start, toks[e.valueLast].end)}`);
    }
    modules.set(e.key, toks[e.valueFirst].value);
  }
  if (modules.get(selfModule) !== import0.name) fail(`__wbg_get_imports does not return ${import0.name} as ${JSON.stringify(selfModule)} (wrong --out-name?)`);

  // Every reference to the wasm exports: `wasm.X`. Any other use of `wasm` or of `.exports` that
  // could reach an export by another name is refused.
  const refs = [];
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.type !== 'ident') continue;
    const prev = toks[k - 1];
    const next = toks[k + 1];
    if (t.value === 'wasm' && !isPunct(prev, '.')) {
      const callArg = (isPunct(prev, '(') && toks[k - 2]?.type === 'ident' && !['if', 'while', 'switch'].includes(toks[k - 2].value)) || isPunct(prev, ',');
      if (isPunct(next, '.') && toks[k + 2]?.type === 'ident') refs.push(toks[k + 2]);
      else if (isPunct(next, '[') || isPunct(next, '?.')) fail(`computed access to the wasm exports at offset ${t.start}: ${src.slice(t.start, t.start + 60)}`);
      else if ((isPunct(prev, '=') && (isPunct(next, ';') || isPunct(next, ','))) || (callArg && (isPunct(next, ')') || isPunct(next, ',')))) {
        fail(`the wasm exports object is passed around at offset ${t.start} (${src.slice(prev.start, next.end)}); its uses cannot be tracked`);
      }
    }
    if (t.value === 'exports' && isPunct(prev, '.') && !isPunct(next, ';')) {
      fail(`instance exports used other than \`wasm = instance.exports;\` at offset ${t.start}: ${src.slice(t.start - 20, t.start + 40)}`);
    }
  }
  return { toks, import0, ret, shims, modules, refs };
}

function applyEdits(src, edits) {
  edits.sort((a, b) => b.start - a.start);
  let out = src;
  let limit = Infinity;
  for (const e of edits) {
    if (e.end > limit) fail('internal error: overlapping edits');
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    limit = e.start;
  }
  return out;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
const propAccess = (obj, name) => (IDENT.test(name) ? `${obj}.${name}` : `${obj}[${JSON.stringify(name)}]`);
const propKey = (name) => (IDENT.test(name) ? name : JSON.stringify(name));

async function main() {
  const args = process.argv.slice(2);
  let outName = 'core';
  const rest = [];
  for (let k = 0; k < args.length; k++) {
    if (args[k] === '--out-name') outName = args[++k];
    else rest.push(args[k]);
  }
  if (rest.length !== 1 || !outName) {
    console.error('usage: node scripts/minify-names.mjs <dir> [--out-name core]');
    process.exit(2);
  }
  const dir = resolve(rest[0]);
  const gluePath = join(dir, `${outName}.js`);
  const wasmPath = join(dir, `${outName}_bg.wasm`);
  const dtsPath = join(dir, `${outName}.d.ts`);
  const selfModule = `./${outName}_bg.js`;
  const wasmOpt = process.env.WASM_OPT || join(ROOT, 'node_modules/.bin/wasm-opt');
  for (const f of [gluePath, wasmPath, wasmOpt]) if (!existsSync(f)) fail(`missing ${f}`);

  const glue = readFileSync(gluePath, 'utf8');
  const before = new WebAssembly.Module(readFileSync(wasmPath));
  const g = analyseGlue(glue, selfModule);

  // 1. Does the glue provide every import the wasm has, and reference only exports it has?
  const wasmImports = WebAssembly.Module.imports(before);
  const wasmExports = new Set(WebAssembly.Module.exports(before).map((e) => e.name));
  const imported = new Set();
  for (const imp of wasmImports) {
    if (imp.module === STRING_CONSTANTS_MODULE) fail(`the wasm imports JS string constants (${STRING_CONSTANTS_MODULE}, wasm-bindgen --js-string-builtins): their names are their values and must not be minified; not supported`);
    if (imp.module === selfModule) {
      if (!g.shims.has(imp.name)) fail(`the wasm imports ${imp.module} ${imp.name}, which the glue's ${g.import0.name} does not define`);
      imported.add(imp.name);
    } else if (!g.modules.has(imp.module)) {
      fail(`the wasm imports ${imp.name} from module ${JSON.stringify(imp.module)}, which __wbg_get_imports does not return`);
    }
  }
  // Shims the wasm does not import (wasm-opt removed their last call) are deleted from the glue,
  // and the wasm.X inside them no longer count.
  const dead = [...g.shims.keys()].filter((k) => !imported.has(k));
  const removed = []; // [start, end) of deleted shims
  const killShim = (name) => {
    const e = g.shims.get(name);
    removed.push([e.keyTok.start, g.toks[e.last].end]);
  };
  dead.forEach(killShim);
  const live = (t) => !removed.some(([s, e]) => t.start >= s && t.start < e);
  const referenced = new Set(g.refs.filter(live).map((t) => t.value));
  for (const name of referenced) if (!wasmExports.has(name)) fail(`the glue calls wasm.${name}, which the wasm does not export`);
  // Exports the glue never reaches. Safe to drop only if their name appears nowhere in the glue.
  const unused = [...wasmExports].filter((e) => !referenced.has(e));
  for (const e of unused) {
    const mention = g.toks.find((t) => (t.type === 'ident' || t.type === 'string') && t.value === e && live(t));
    if (mention) fail(`export ${e} appears in the glue at offset ${mention.start} but not as wasm.${e}; cannot tell whether renaming it is safe`);
    if (!IDENT.test(e) || e.includes(',')) fail(`cannot remove oddly named export ${JSON.stringify(e)}`);
  }

  // 2. binaryen: drop unused exports, minify the rest and every import, read its mapping.
  const tmpWasm = `${wasmPath}.min.tmp`;
  temporary.push(tmpWasm);
  const optArgs = [wasmPath, '-o', tmpWasm];
  if (unused.length) optArgs.push('--remove-exports', `--pass-arg=remove-exports@${unused.join(',')}`, '--remove-unused-module-elements');
  optArgs.push('--minify-imports-and-exports-and-modules');
  let stdout;
  try {
    stdout = execFileSync(wasmOpt, optArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  } catch (e) {
    fail(`${wasmOpt} ${optArgs.join(' ')} failed (exit ${e.status})`);
  }
  let mapping;
  try {
    mapping = JSON.parse(stdout);
  } catch {
    fail(`could not read binaryen's name mapping (expected JSON {"imports": [[module, base, new]…], "exports": [[old, new]…]} on stdout), got:\n${stdout.slice(0, 500)}`);
  }
  if (!Array.isArray(mapping.imports) || !Array.isArray(mapping.exports)) fail('binaryen mapping lacks "imports"/"exports" arrays');
  const after = new WebAssembly.Module(readFileSync(tmpWasm));
  const newImports = WebAssembly.Module.imports(after);
  const newExports = new Set(WebAssembly.Module.exports(after).map((e) => e.name));

  // 3. Check the mapping against both modules: every import and export accounted for, once.
  const importMap = new Map(); // `${module}\0${base}` → new name
  for (const m of mapping.imports) {
    if (!Array.isArray(m) || m.length !== 3 || !m.every((s) => typeof s === 'string')) fail(`odd import mapping entry ${JSON.stringify(m)}`);
    importMap.set(`${m[0]}\0${m[1]}`, m[2]);
  }
  const exportMap = new Map();
  for (const m of mapping.exports) {
    if (!Array.isArray(m) || m.length !== 2 || !m.every((s) => typeof s === 'string')) fail(`odd export mapping entry ${JSON.stringify(m)}`);
    if (!newExports.has(m[1])) fail(`binaryen says export ${m[0]} became ${m[1]}, which the new wasm does not export`);
    exportMap.set(m[0], m[1]);
  }
  for (const name of referenced) if (!exportMap.has(name)) fail(`no new name for export ${name} (which the glue calls)`);
  if (exportMap.size !== referenced.size) fail(`binaryen renamed ${exportMap.size} exports, the glue references ${referenced.size}`);
  const newModuleOf = new Map(); // new import name → new module
  for (const imp of newImports) {
    if (newModuleOf.has(imp.name) && newModuleOf.get(imp.name) !== imp.module) fail(`new import name ${imp.name} is used by two modules`);
    newModuleOf.set(imp.name, imp.module);
  }
  const liveImports = wasmImports.filter((imp) => importMap.has(`${imp.module}\0${imp.name}`));
  if (liveImports.length !== newImports.length) fail(`binaryen mapped ${liveImports.length} imports, the new wasm has ${newImports.length}`);
  for (const imp of wasmImports) {
    const n = importMap.get(`${imp.module}\0${imp.name}`);
    if (n === undefined) {
      // Possible only if the export removal above made it dead: it is gone from the new wasm too.
      if (imp.module === selfModule && !dead.includes(imp.name)) {
        dead.push(imp.name);
        killShim(imp.name);
      }
      continue;
    }
    if (!newModuleOf.has(n)) fail(`binaryen says import ${imp.module} ${imp.name} became ${n}, which the new wasm does not import`);
  }

  // 4. Rewrite the glue: rename import0's keys (dropping dead shims), add the imports of other
  //    modules to it, return it as binaryen's one module, and rename every wasm.X.
  const newModules = new Set(newImports.map((imp) => imp.module));
  if (newModules.size > 1) fail(`binaryen left the imports in several modules (${[...newModules].join(', ')}); unsupported`);
  const newModule = newModules.size ? [...newModules][0] : 'a';
  const edits = [];
  const { toks } = g;
  for (const [name, e] of g.shims) {
    const n = importMap.get(`${selfModule}\0${name}`);
    if (n !== undefined) edits.push({ start: e.keyTok.start, end: e.keyTok.end, text: propKey(n) });
    else if (!dead.includes(name)) fail(`internal error: ${name} neither mapped nor dead`);
  }
  for (const [start, end] of removed) edits.push({ start, end, text: '' });
  const fromOthers = [];
  for (const imp of wasmImports) {
    const n = importMap.get(`${imp.module}\0${imp.name}`);
    if (imp.module !== selfModule && n !== undefined) fromOthers.push(`${propKey(n)}: ${propAccess(g.modules.get(imp.module), imp.name)},`);
  }
  if (fromOthers.length) {
    const proto = g.import0.entries.find((e) => e.key === '__proto__');
    const at = proto ? toks[proto.last].end : toks[g.import0.open].end;
    edits.push({ start: at, end: at, text: `\n        ${fromOthers.join('\n        ')}` });
  }
  edits.push({
    start: toks[g.ret.open].start,
    end: toks[g.ret.close].end,
    text: `{\n        __proto__: null,\n        ${propKey(newModule)}: ${g.import0.name},\n    }`,
  });
  for (const t of g.refs.filter(live)) {
    if (!exportMap.has(t.value)) fail(`no new name for wasm.${t.value} at offset ${t.start}`);
    edits.push({ start: t.start, end: t.end, text: exportMap.get(t.value) });
  }
  const newGlue = applyEdits(glue, edits);

  // 5. Verify the result statically: every import defined once, every wasm.X exported, no old
  //    import name left anywhere.
  const h = analyseGlue(newGlue, newModule);
  for (const imp of newImports) if (!h.shims.has(imp.name)) fail(`after rewriting, the glue does not define import ${imp.name}`);
  if (h.shims.size !== newImports.length) fail(`after rewriting, the glue defines ${h.shims.size} imports, the wasm has ${newImports.length}`);
  if (h.modules.size !== 1) fail('after rewriting, __wbg_get_imports returns more than one module');
  for (const t of h.refs) if (!newExports.has(t.value)) fail(`after rewriting, the glue calls wasm.${t.value}, which the new wasm does not export`);
  const oldImportNames = new Set(g.shims.keys());
  for (const t of h.toks) {
    if ((t.type === 'ident' || t.type === 'string') && oldImportNames.has(t.value)) {
      fail(`old import name ${t.value} is still in the rewritten glue (offset ${t.start})`);
    }
  }

  // 6. ... and by linking: instantiate the new wasm with the new glue's imports object in Node
  //    (the glue's start function is not run). A missing or misnamed import fails here.
  const probe = join(dir, `.${outName}.minify-probe.mjs`);
  temporary.push(probe);
  const pkgJson = join(dir, 'package.json'); // so Node reads the snippets as ES modules, silently
  if (!existsSync(pkgJson)) {
    writeFileSync(pkgJson, '{ "type": "module" }\n');
    temporary.push(pkgJson);
  }
  writeFileSync(probe, `${newGlue}\nexport { __wbg_get_imports as __probe_get_imports };\n`);
  let probeModule;
  try {
    probeModule = await import(pathToFileURL(probe).href);
  } catch (e) {
    fail(`could not load the rewritten glue in Node to link-check it: ${e.message}`);
  }
  let instance;
  try {
    instance = new WebAssembly.Instance(after, probeModule.__probe_get_imports());
  } catch (e) {
    fail(`the minified wasm does not link against the rewritten glue: ${e.message}`);
  }
  for (const t of h.refs) if (instance.exports[t.value] === undefined) fail(`wasm.${t.value} is undefined on the linked instance`);

  renameSync(tmpWasm, wasmPath);
  writeFileSync(gluePath, newGlue);
  if (existsSync(dtsPath)) rewriteTypes(dtsPath, exportMap, new Set(unused));
  log(
    `${newImports.length} imports and ${exportMap.size} exports renamed` +
      (unused.length ? `; unused exports removed: ${unused.join(', ')}` : '') +
      (dead.length ? `; import shims the wasm no longer uses removed: ${dead.join(', ')}` : ''),
  );
}

/** The wasm's export names in `interface InitOutput` of the .d.ts (what init() resolves to). */
function rewriteTypes(path, exportMap, removed) {
  const src = readFileSync(path, 'utf8');
  const m = /export interface InitOutput \{\n([\s\S]*?)\n\}/.exec(src);
  if (!m) {
    log(`warning: no \`interface InitOutput\` in ${path}; its export names were left as they were`);
    return;
  }
  const lines = m[1].split('\n').flatMap((line) => {
    const r = /^(\s*readonly )([\w$]+)(\??:.*)$/.exec(line);
    if (!r) return [line];
    if (removed.has(r[2])) return [];
    if (exportMap.has(r[2])) return [`${r[1]}${exportMap.get(r[2])}${r[3]}`];
    log(`warning: ${path}: InitOutput.${r[2]} is not a known export; left as it was`);
    return [line];
  });
  const start = m.index + m[0].indexOf('{') + 2;
  writeFileSync(path, src.slice(0, start) + lines.join('\n') + src.slice(start + m[1].length));
}

try {
  await main();
} catch (e) {
  if (!(e instanceof Failure)) throw e;
  console.error(`minify-names: FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  for (const f of temporary) rmSync(f, { force: true });
}
