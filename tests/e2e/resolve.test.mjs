// The operator decides (issue 12): on the Resolve step every detected person has one
// dropdown. This test bulk-accepts top candidates (the button says how many persons it
// changes), picks through "Search the CRM…" an entry that is not among a person's
// candidates, overrides a person tiers 1–3 matched (Skip), plans, applies, and finds the
// searched entry holding the new row's email on the Browse page.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { COL, assertClean, gotoPage, loadDemo, number, openApp, shot, startApp, waitForText, waitForTexts, withSession } from "./harness.mjs";
import { analyseExport, editWorkbook, identityOf, typo } from "./fixtures.mjs";
import { exportPortfolio, match, planTotals, stageAndReview } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

test("resolve: bulk-accept, search the CRM for an entry, override a tier match, apply", { timeout: 600_000 }, () =>
  withSession(app, "resolve", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);

    // A portfolio with three persons shown under one insured: T (gets a typo'd row), Q (the
    // entry found by search) and M (its tier-1 match is overridden).
    let exp;
    let picked;
    for (let i = 0; i < 4 && !picked; i++) {
      exp = await exportPortfolio(page, i);
      const a = analyseExport(exp.rows);
      const named = a.single.filter((p) => p.rows[0].cells[COL["First Name"]].length >= 4 && typo(p.rows[0].cells[COL["First Name"]]));
      const withRef = a.single.filter((p) => p.rows[0].cells[COL["Client Reference"]]);
      const T = named[0];
      const Q = withRef.find((p) => p !== T && p.rows[0].cells[COL["Last Name"]] !== T?.rows[0].cells[COL["Last Name"]]);
      const M = a.single.find((p) => p !== T && p !== Q);
      if (T && Q && M) picked = { T, Q, M };
    }
    assert.ok(picked, "a demo portfolio has three persons to work with");
    const { T, Q, M } = picked;
    const cell = (p, h) => p.rows[0].cells[COL[h]];
    const qRef = cell(Q, "Client Reference");
    const tTypo = typo(cell(T, "First Name"));
    const X_EMAIL = "e2e.searched@example.com";
    const X = { first: "Zebediah", last: "Quillfeather" };

    const edited = await editWorkbook(exp.buffer, (ws, x) => {
      x.append({
        ...identityOf(x, T.rows[0].sheetRow),
        "First Name": tTypo,
        "Client Reference": "",
        SSN: "",
        "Detail Type": "Phone",
        Label: "Work",
        Primary: "No",
        Phone: "+1 (555) 010-3131",
      });
      x.append({
        "First Name": X.first,
        "Last Name": X.last,
        "Detail Type": "Email",
        Label: "Home",
        Primary: "No",
        Email: X_EMAIL,
      });
    });

    await gotoPage(page, "import");
    await page.getByTestId("import-stage-status").waitFor();
    await stageAndReview(s, "resolve.xlsx", edited);
    await match(page);
    const open = page.getByTestId("open-groups").getByTestId("resolve-group");
    await open.first().waitFor();
    assert.equal(await open.count(), 2, "two persons are open: the typo'd one and the new one");
    const groupOf = (name) => open.filter({ has: page.getByTestId("resolve-group-name").getByText(name, { exact: true }) });
    const tGroup = groupOf(`${tTypo} ${cell(T, "Last Name")}`);
    const xGroup = groupOf(`${X.first} ${X.last}`);
    assert.equal(await tGroup.getByTestId("resolve-select").inputValue(), "new");
    assert.equal(await xGroup.getByTestId("resolve-select").inputValue(), "new");

    // Bulk: accept every top candidate scoring ≥ 0; the button says how many persons change.
    await page.getByTestId("bulk-min-score").fill("0");
    await page.getByTestId("bulk-min-score").dispatchEvent("change");
    await page.waitForFunction(() => /changes \d+ person/.test(document.querySelector('[data-testid="bulk-accept"]')?.textContent ?? ""));
    const promised = Number((await page.getByTestId("bulk-accept").textContent()).match(/changes (\d+) person/)[1]);
    assert.ok(promised >= 1, "the typo'd person has a top candidate");
    await page.getByTestId("bulk-accept").click();
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('[data-testid="open-groups"] [data-testid="resolve-select"]')].filter((s) => s.value.startsWith("entry:")).length === n,
      promised,
    );
    const tChoice = await tGroup.getByTestId("resolve-select").inputValue();
    assert.match(tChoice, /^entry:\d+$/, "the typo'd person now points at its top candidate");

    // Search the CRM for Q (not a candidate of X) and pick it.
    const xOptions = await xGroup.getByTestId("resolve-select").locator("option").allTextContents();
    assert.ok(!xOptions.some((o) => o.includes(qRef)), `Q (${qRef}) is not among X's candidates: ${xOptions}`);
    await xGroup.getByTestId("resolve-select").selectOption("search");
    const input = xGroup.getByTestId("resolve-search-input");
    await input.waitFor();
    assert.ok(await input.evaluate((el) => el === document.activeElement), "the search box takes the focus");
    await input.fill(qRef);
    const hit = xGroup.getByTestId("resolve-search-hit").first();
    await waitForText(page, hit, new RegExp(`^${qRef} · ${cell(Q, "First Name")} ${cell(Q, "Last Name")}`));
    await shot(s, "resolve-search-open");
    await hit.click();
    await page.waitForFunction(() => {
      const groups = [...document.querySelectorAll('[data-testid="open-groups"] [data-testid="resolve-group"]')];
      return groups.some((g) => /found by search/.test(g.querySelector("select option:checked")?.textContent ?? ""));
    });
    const xSelected = await xGroup.getByTestId("resolve-select").locator("option:checked").textContent();
    assert.match(xSelected, new RegExp(`^${qRef} · .* — found by search$`));

    // Override a tier-1 match: M's rows are skipped.
    await page.getByTestId("matched-section").locator("summary").click();
    const matched = page.getByTestId("matched-section").getByTestId("resolve-group");
    await matched.first().waitFor();
    const mName = `${cell(M, "First Name")} ${cell(M, "Last Name")}`;
    const mGroup = matched.filter({ has: page.getByTestId("resolve-group-name").getByText(mName, { exact: true }) }).first();
    assert.match(await mGroup.locator(".badge").textContent(), /^Tier /, "a matched person shows its tier");
    assert.match(await mGroup.getByTestId("resolve-select").inputValue(), /^entry:\d+$/, "its default keeps the matched entry");
    const mRows = (await mGroup.textContent()).match(/rows ([\d, ]+)/)[1].split(",").length;
    await mGroup.getByTestId("resolve-select").selectOption("skip");
    await page.waitForFunction(
      (name) =>
        [...document.querySelectorAll('[data-testid="matched-section"] [data-testid="resolve-group"]')].some(
          (g) => g.querySelector('[data-testid="resolve-group-name"]')?.textContent === name && g.querySelector("select")?.value === "skip",
        ),
      mName,
    );
    await shot(s, "resolve-overridden");

    await page.getByTestId("plan-button").click();
    const totals = await planTotals(page);
    assert.equal(totals.create, 0, "no new entry: both open persons point at existing entries");
    assert.equal(totals.add, 2, "the phone and the email are added to the chosen entries");
    assert.equal(totals.skip, mRows, "every row of the overridden person is skipped");
    assert.equal(totals.error, 0);
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    assert.equal(await number(page, "verify-added"), 2);

    // Q now holds X's email.
    await gotoPage(page, "browse");
    await page.getByTestId("crm-search").fill(qRef);
    // The list shows the whole CRM until the search answers: wait for Q's rows before opening one.
    await waitForTexts(page, "crm-result", (rows) => rows.length > 0 && rows.every((r) => r.includes(qRef)));
    await page.getByTestId("crm-result").first().click();
    await page.getByTestId("entry-card").waitFor();
    await page.waitForFunction((email) => (document.querySelector('[data-testid="entry-card"]')?.textContent ?? "").includes(email), X_EMAIL);
    assertClean(s);
  }),
);
