// Lint for read-after-action races in the end-to-end tests. An action (a click, a fill, an
// upload, a navigation…) starts work the page finishes later (the worker answers, IndexedDB
// commits, the view re-renders), so a plain read right after it (`text`, `textContent`,
// `count`, `isVisible`…) may see the value from before. After an action, a test must wait for
// the state it expects (`waitForText`, `waitForCount`, `waitFor`, `waitForFunction`,
// `waitForNotice`, a helper that waits) before it reads anything of the page.
//
// The lint parses every .mjs file of this folder and follows each block's statements in
// order: an action leaves the block "unsettled", a wait settles it, and a read while it is
// unsettled is an error reported as file:line. Helper functions (here and in harness.mjs,
// steps.mjs, fixtures.mjs) are summarised by what their bodies do, so `gotoPage` counts as an
// action and `loadDemo` or `planTotals` as waits. A read of a value that the action cannot
// change may be kept by saying why on its line or the line above: `// settled: <reason>`.
//
//   node lint-races.mjs              checks itself on known snippets, then lints the folder
//   node lint-races.mjs FILE…        the same, for the given files

import { readFile, readdir } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import { parse } from "acorn";

/** Methods that make the page do something. */
const ACTION_METHODS = new Set([
  "click",
  "dblclick",
  "tap",
  "fill",
  "clear",
  "press",
  "pressSequentially",
  "type",
  "selectOption",
  "setInputFiles",
  "check",
  "uncheck",
  "setChecked",
  "dispatchEvent",
  "dragTo",
  "goto",
  "reload",
  "goBack",
  "goForward",
]);

/** Methods that read the page as it is now, without waiting for a value. */
const READ_METHODS = new Set([
  "textContent",
  "innerText",
  "innerHTML",
  "allTextContents",
  "allInnerTexts",
  "inputValue",
  "getAttribute",
  "count",
  "isVisible",
  "isHidden",
  "isEnabled",
  "isDisabled",
  "isChecked",
]);

/** Methods that wait for a state of the page. `waitForTimeout` waits for time and is not one. */
const WAIT_METHODS = new Set([
  "waitFor",
  "waitForFunction",
  "waitForSelector",
  "waitForEvent",
  "waitForLoadState",
  "waitForURL",
  "waitForRequest",
  "waitForResponse",
]);

/** The plain reads of harness.mjs (read the page now); every other harness `waitFor…` waits. */
const READ_FUNCTIONS = new Set(["text", "texts", "number"]);

const SETTLED_NOTE = /settled:\s*\S/;

/** Every .mjs file of this folder (the tests and their helpers). */
async function folderFiles() {
  const here = dirname(fileURLToPath(import.meta.url));
  const names = (await readdir(here)).filter((n) => n.endsWith(".mjs")).sort();
  return names.map((n) => join(here, n));
}

function parseSource(source, file) {
  const comments = [];
  const ast = parse(source, { ecmaVersion: "latest", sourceType: "module", locations: true, onComment: comments });
  const settledLines = new Set();
  for (const c of comments) {
    if (SETTLED_NOTE.test(c.value)) {
      settledLines.add(c.loc.start.line);
      settledLines.add(c.loc.end.line + 1);
    }
  }
  return { file, ast, settledLines };
}

const isFunction = (n) => n && (n.type === "FunctionDeclaration" || n.type === "FunctionExpression" || n.type === "ArrowFunctionExpression");

/** Named functions of a program: `function f() {}` and `const f = (…) => …` at any depth. */
function namedFunctions(ast) {
  const out = new Map();
  walkAll(ast, (n) => {
    if (n.type === "FunctionDeclaration" && n.id) out.set(n.id.name, n);
    if (n.type === "VariableDeclarator" && n.id.type === "Identifier" && isFunction(n.init)) out.set(n.id.name, n.init);
  });
  return out;
}

/** Visits every node (functions included). */
function walkAll(node, visit) {
  if (!node || typeof node.type !== "string") return;
  visit(node);
  for (const key of Object.keys(node)) {
    if (key === "loc") continue;
    const v = node[key];
    if (Array.isArray(v)) for (const c of v) walkAll(c, visit);
    else if (v && typeof v.type === "string") walkAll(v, visit);
  }
}

const calleeName = (call) => {
  const c = call.callee;
  if (c.type === "Identifier") return { kind: "function", name: c.name };
  if (c.type === "MemberExpression" && !c.computed && c.property.type === "Identifier") return { kind: "method", name: c.property.name };
  return { kind: "other", name: "" };
};

const isPromiseAll = (call) => {
  const c = call.callee;
  return c.type === "MemberExpression" && c.object.type === "Identifier" && c.object.name === "Promise" && c.property.name === "all";
};

/**
 * The events of a node in evaluation order: { kind: "action" | "read" | "wait", name, line }.
 * A call's receiver and arguments come before the call itself; nested functions are not
 * entered (they run at another time and are linted as blocks of their own). In
 * `Promise.all([...])` the actions come before the waits, since the waits are for what the
 * actions cause (`Promise.all([page.waitForEvent("download"), button.click()])`).
 */
function events(node, summaries) {
  const out = [];
  const visit = (n) => {
    if (!n || typeof n.type !== "string" || isFunction(n)) return;
    if (n.type === "CallExpression" && isPromiseAll(n) && n.arguments[0]?.type === "ArrayExpression") {
      const parts = n.arguments[0].elements.map((e) => events(e, summaries));
      for (const part of parts) out.push(...part.filter((e) => e.kind !== "wait"));
      for (const part of parts) out.push(...part.filter((e) => e.kind === "wait"));
      return;
    }
    for (const key of Object.keys(n)) {
      if (key === "loc") continue;
      const v = n[key];
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v.type === "string") visit(v);
    }
    if (n.type === "CallExpression") out.push(...classify(n, summaries));
  };
  visit(node);
  return out;
}

function classify(call, summaries) {
  const { kind, name } = calleeName(call);
  const line = call.loc.start.line;
  if (kind === "method") {
    if (ACTION_METHODS.has(name)) return [{ kind: "action", name, line }];
    if (READ_METHODS.has(name)) return [{ kind: "read", name, line }];
    if (WAIT_METHODS.has(name)) return [{ kind: "wait", name, line }];
    return [];
  }
  if (kind === "function") {
    if (READ_FUNCTIONS.has(name)) return [{ kind: "read", name, line }];
    if (/^waitFor/.test(name)) return [{ kind: "wait", name, line }];
    const s = summaries.get(name);
    if (s) return s.effects.map((kind2) => ({ kind: kind2, name, line }));
  }
  return [];
}

/** The statement lists of a function or program body (blocks nested in statements included). */
function statementLists(node) {
  const lists = [];
  walkAll(node, (n) => {
    if (n.type === "Program" || n.type === "BlockStatement" || n.type === "StaticBlock") lists.push(n.body);
    if (n.type === "SwitchCase") lists.push(n.consequent);
    if (n.type === "ArrowFunctionExpression" && n.expression) lists.push([n.body]);
  });
  return lists;
}

/**
 * Follows one function body (or the program) statement by statement. Only the outermost
 * statements of `body` are followed in order; a compound statement (a loop, an if) counts
 * as its events in source order.
 */
function follow(statements, summaries, onRead) {
  let unsettled = null;
  for (const st of statements) {
    for (const e of events(st, summaries)) {
      if (e.kind === "action") unsettled = e;
      else if (e.kind === "wait") unsettled = null;
      else if (e.kind === "read" && unsettled) onRead(e, unsettled);
    }
  }
  return unsettled;
}

/**
 * What calling a helper does, from its body: the reads it makes before it waits (a read at
 * the call site), then whether it leaves the page unsettled (an action) or settled (a wait).
 */
function summarise(fn, summaries) {
  const body = fn.body.type === "BlockStatement" ? fn.body.body : [fn.body];
  const all = body.flatMap((st) => events(st, summaries));
  const effects = [];
  const firstWaitOrAction = all.findIndex((e) => e.kind !== "read");
  if (all.slice(0, firstWaitOrAction < 0 ? all.length : firstWaitOrAction).some((e) => e.kind === "read")) effects.push("read");
  let last = null;
  for (const e of all) if (e.kind !== "read") last = e.kind;
  if (last) effects.push(last);
  return { effects };
}

/** Lints parsed sources; returns findings { file, line, read, action, actionLine }. */
export function lintParsed(parsed) {
  // Helpers of every file, the shared ones first so a file's own definitions win.
  const shared = parsed.filter((p) => !basename(p.file).endsWith(".test.mjs"));
  const findings = [];
  for (const p of parsed) {
    const fns = new Map();
    for (const q of [...shared, p]) for (const [name, fn] of namedFunctions(q.ast)) fns.set(name, fn);
    let summaries = new Map();
    for (let round = 0; round < 6; round++) {
      const next = new Map();
      for (const [name, fn] of fns) next.set(name, summarise(fn, summaries));
      summaries = next;
    }
    for (const list of statementLists(p.ast)) {
      follow(list, summaries, (read, action) => {
        if (p.settledLines.has(read.line)) return;
        findings.push({ file: p.file, line: read.line, read: read.name, action: action.name, actionLine: action.line });
      });
    }
  }
  // A read inside nested blocks is seen by each enclosing list: report it once.
  const seen = new Set();
  return findings
    .filter((f) => {
      const k = `${f.file}:${f.line}:${f.read}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

export function lintSources(sources) {
  return lintParsed(sources.map(({ file, source }) => parseSource(source, file)));
}

// --- Self-test: the lint must catch the races it is for and let waiting steps pass. ---------

const HARNESS = `
export async function gotoPage(page, name) { await page.getByTestId("nav-" + name).click(); }
export async function uploadFile(page, id, name, buffer) { await page.getByTestId(id).setInputFiles({ name, buffer }); }
export async function text(page, id) { return (await page.getByTestId(id).first().textContent()) ?? ""; }
export async function waitForText(page, id, expected) { await page.waitForFunction(() => true); return text(page, id); }
export async function loadDemo(page) { await gotoPage(page, "data"); await page.getByTestId("load-demo").click(); return waitForNotice(page, /x/); }
export async function download(page, id) {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.getByTestId(id).click()]);
  return dl;
}
`;

const BAD = [
  // The reported race: Reveal, then the SSN read at once.
  `async function t(page) {
    await page.getByTestId("entry-card").getByRole("button", { name: "Reveal" }).click();
    const revealed = await text(page, "entry-ssn");
  }`,
  // A read after something else that does not wait (a screenshot, a sleep).
  `async function t(page, s) {
    await page.getByTestId("plan-button").click();
    await shot(s, "plan");
    await page.waitForTimeout(300);
    assert.equal(await page.getByTestId("plan-row").count(), 3);
  }`,
  // A navigation helper is an action.
  `async function t(page) {
    await gotoPage(page, "history");
    assert.equal(await page.getByTestId("history-table").locator("tbody tr").count(), 0);
  }`,
  // An action inside a loop, then a read.
  `async function t(page, refs) {
    for (const r of refs) { await page.getByTestId("case").filter({ hasText: r }).check(); }
    assert.match(await page.locator("main").textContent(), /2 cases chosen/);
  }`,
  // A local helper that ends with an action.
  `async function choose(page, label) { await gotoPage(page, "export"); await page.getByTestId("sel").selectOption({ label }); }
  async function t(page) {
    await choose(page, "A");
    assert.match(await page.getByTestId("sync-status").textContent(), /Synced/);
  }`,
  // A "settled" note without a reason does not count.
  `async function t(page) {
    await uploadFile(page, "accounts-import-file", "a.xlsx", bytes);
    // settled:
    assert.match(await page.getByTestId("accounts-import-chosen").textContent(), /a\\.xlsx/);
  }`,
  // A read inside the same statement as the action, after it.
  `async function t(page) {
    assert.ok((await page.getByTestId("go").click()) || (await page.getByTestId("x").isVisible()));
  }`,
];

const GOOD = [
  `async function t(page) {
    await page.getByTestId("entry-card").getByRole("button", { name: "Reveal" }).click();
    const revealed = await waitForText(page, "entry-ssn", /^\\d{3}-\\d{2}-\\d{4}$/);
    assert.equal(await text(page, "entry-ssn"), revealed);
  }`,
  `async function t(page) {
    await loadDemo(page);
    assert.match(await text(page, "crm-figures"), /900/);
  }`,
  `async function t(page) {
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor();
    assert.equal(await text(page, "verify-created"), "1");
  }`,
  `async function t(page) {
    const file = await download(page, "export-download");
    assert.equal(await text(page, "export-row-count"), "12");
  }`,
  `async function t(page) {
    await page.getByTestId("export-download").click();
    // settled: the row count was shown before the click and a download does not change it
    assert.equal(await text(page, "export-row-count"), "12");
  }`,
  `async function t(page) {
    await page.getByTestId("x").click();
    await page.waitForFunction(() => document.querySelectorAll("tr").length === 4);
    if ((await page.getByTestId("y").count()) === 0) await page.getByTestId("plan-button").click();
  }`,
];

export function selfTest() {
  const failures = [];
  const harness = { file: "harness.mjs", source: HARNESS };
  BAD.forEach((source, i) => {
    const found = lintSources([harness, { file: `bad-${i}.test.mjs`, source }]).filter((f) => f.file !== "harness.mjs");
    if (found.length !== 1) failures.push(`bad snippet #${i} should give one finding, gave ${found.length}:\n${source}`);
  });
  GOOD.forEach((source, i) => {
    const found = lintSources([harness, { file: `good-${i}.test.mjs`, source }]).filter((f) => f.file !== "harness.mjs");
    if (found.length) failures.push(`good snippet #${i} should pass, gave ${found.map((f) => `line ${f.line} ${f.read}`)}:\n${source}`);
  });
  return failures;
}

async function main() {
  const failures = selfTest();
  if (failures.length) {
    console.error(`lint-races: the self-test failed:\n${failures.join("\n\n")}`);
    process.exit(2);
  }
  const files = process.argv.length > 2 ? process.argv.slice(2) : await folderFiles();
  const sources = await Promise.all(files.map(async (file) => ({ file, source: await readFile(file, "utf-8") })));
  const findings = lintSources(sources);
  for (const f of findings) {
    console.error(
      `${relative(process.cwd(), f.file)}:${f.line}: \`${f.read}\` reads the page right after \`${f.action}\` (line ${f.actionLine}) ` +
        "without waiting for the state it expects: wait for it (waitForText, waitForCount, waitFor…) or, if the action cannot change it, say why with // settled: <reason>",
    );
  }
  if (findings.length) {
    console.error(`lint-races: ${findings.length} read(s) right after an action`);
    process.exit(1);
  }
  console.log(`lint-races: ${files.length} files, no read right after an action (self-test: ${BAD.length} bad and ${GOOD.length} good snippets)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
