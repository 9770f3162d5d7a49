// Fixture building for the import tests: analyse an Insured CRM Export (rows as text), pick
// the rows an edit needs, and write an edited copy of the exported workbook with exceljs —
// the way an operator edits the file in Excel: the original cells (typed dates, text
// identifiers) stay as they are, changed cells and appended rows are added.

import assert from "node:assert/strict";

import { COL, EXPORT_COLUMNS, loadWorkbook } from "./harness.mjs";

/** The identity columns a new row copies from an existing row of the same person. */
export const IDENTITY = ["Case Reference", "Insured Reference", "First Name", "Last Name", "Client Reference", "SSN", "Date of Birth"];

/** A key for the CRM entry a row shows (names, Client Reference, SSN, date of birth). */
export const personKey = (r) =>
  [r[COL["First Name"]], r[COL["Last Name"]], r[COL["Client Reference"]], r[COL["SSN"]], r[COL["Date of Birth"]]].join("|");
const insuredKey = (r) => `${r[COL["Case Reference"]]}|${r[COL["Insured Reference"]]}`;

/**
 * Analyses export rows (header first). Returns the data rows with their sheet row numbers,
 * persons (entries) with their rows and insureds, Public ID counts, and the rows of insureds
 * with no CRM entry linked (no detail, no Public ID, no Client Reference, no SSN).
 */
export function analyseExport(rows) {
  assert.deepEqual(rows[0], EXPORT_COLUMNS, "an Insured CRM Export");
  const data = rows.slice(1).map((cells, i) => ({ cells, sheetRow: i + 2 }));
  const persons = new Map();
  const publicIds = new Map();
  const unlinked = [];
  for (const row of data) {
    const r = row.cells;
    const pid = r[COL["Public ID"]];
    if (pid) publicIds.set(pid, (publicIds.get(pid) ?? 0) + 1);
    if (!r[COL["Detail Type"]] && !pid && !r[COL["Client Reference"]] && !r[COL["SSN"]]) {
      unlinked.push(row);
      continue;
    }
    const key = personKey(r);
    if (!persons.has(key)) persons.set(key, { key, rows: [], insureds: new Set() });
    const p = persons.get(key);
    p.rows.push(row);
    p.insureds.add(insuredKey(r));
  }
  // Persons shown under exactly one insured, whose every detail row has a unique Public ID.
  const single = [...persons.values()].filter(
    (p) => p.insureds.size === 1 && p.rows.every((row) => row.cells[COL["Public ID"]] && publicIds.get(row.cells[COL["Public ID"]]) === 1),
  );
  return { data, persons, publicIds, unlinked, single };
}

/** Changes one ASCII lowercase letter (not the first) of a name: a typo. */
export function typo(name) {
  for (let i = 1; i < name.length; i++) {
    const ch = name[i];
    if (ch >= "a" && ch <= "z") {
      const replacement = ch === "x" ? "z" : "x";
      return name.slice(0, i) + replacement + name.slice(i + 1);
    }
  }
  return null;
}

/**
 * Loads the exported workbook, lets `edit(ws, helpers)` change it, and returns the new bytes.
 * helpers.set(sheetRow, header, value) sets one cell; helpers.append(values) appends a row
 * (an object header → value; a Date for Date of Birth is written as a real date).
 */
export async function editWorkbook(buffer, edit) {
  const wb = await loadWorkbook(buffer);
  const ws = wb.worksheets[0];
  let next = ws.rowCount + 1;
  const helpers = {
    set(sheetRow, header, value) {
      assert.ok(header in COL, `unknown column ${header}`);
      ws.getRow(sheetRow).getCell(COL[header] + 1).value = value;
    },
    append(values) {
      const row = ws.getRow(next);
      for (const [header, value] of Object.entries(values)) {
        assert.ok(header in COL, `unknown column ${header}`);
        if (value === "" || value === null || value === undefined) continue;
        const cell = row.getCell(COL[header] + 1);
        cell.value = value;
        if (value instanceof Date) cell.numFmt = "yyyy-mm-dd";
        else if (typeof value === "string") cell.numFmt = "@";
      }
      row.commit?.();
      next += 1;
      return next - 1;
    },
    /** The raw exceljs value of a cell (a Date stays a Date). */
    value(sheetRow, header) {
      return ws.getRow(sheetRow).getCell(COL[header] + 1).value;
    },
  };
  await edit(ws, helpers);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** Identity values of a row, as written in the workbook (Date of Birth as a Date). */
export function identityOf(helpers, sheetRow) {
  return Object.fromEntries(IDENTITY.map((h) => [h, helpers.value(sheetRow, h) ?? ""]));
}
