// Drives the console page in headless Chromium (playwright-core + Debian's
// /usr/bin/chromium), for browser.test.mjs (against the real server) and
// page.test.mjs (against mock-api.mjs). Also reads back what the page shows
// so tests can compare it with the API's own answer.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.STRATUS_CHROMIUM || '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. */
export function browserMissing() {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set STRATUS_CHROMIUM)`;
  try {
    createRequire(import.meta.url).resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm ci --prefix console)';
  }
  return null;
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI: Chromium's sandbox needs user namespaces it may not have.
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Where browser.test.mjs saves its screenshot: $STRATUS_SCREENSHOT, else $TMPDIR/stratus-console.png. */
export function screenshotPath() {
  return process.env.STRATUS_SCREENSHOT || tmpPath('stratus-console.png');
}

export function tmpPath(name) {
  return join(process.env.TMPDIR || tmpdir(), name);
}

/**
 * Opens the console at `url` in a new page; records console messages and
 * page errors (`page.consoleErrors`, `page.pageErrors`).
 */
export async function openConsole(browser, url, { waitFor = 'ready' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.pageErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => page.pageErrors.push(String(e)));
  await page.goto(url, { waitUntil: 'load' });
  if (waitFor === 'ready') {
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 30000 });
    const ready = await page.evaluate(() => document.body.dataset.ready);
    if (ready !== 'true') {
      const text = await page.locator('#api-error').innerText();
      throw new Error(`the console did not connect: ${text}`);
    }
    await page.locator('#models-table tbody tr[data-model]').first().waitFor();
  }
  return page;
}

/** The models table as [{name, version, kind, state, shaShown, shaTitle}]. */
export async function readModels(page) {
  return page.$$eval('#models-table tbody tr[data-model]', (rows) =>
    rows.map((r) => {
      const cells = r.querySelectorAll('th, td');
      return {
        name: cells[0].textContent.trim(),
        version: cells[1].textContent.trim(),
        kind: cells[2].textContent.trim(),
        state: cells[3].textContent.trim(),
        shaShown: cells[4].textContent.trim(),
        shaTitle: cells[4].querySelector('code')?.getAttribute('title') ?? '',
      };
    }),
  );
}

/** Chooses the history source of form `prefix` ('fc' or 'bt'): {dataset} or {csv}. */
async function chooseSource(page, prefix, { dataset, csv }) {
  if (csv !== undefined) {
    await page.check(`#${prefix}-src-csv`);
    await page.fill(`#${prefix}-csv`, csv);
  } else {
    await page.check(`#${prefix}-src-dataset`);
    await page.selectOption(`#${prefix}-dataset`, dataset);
  }
}

/** Waits until form `prefix` has finished (its button enabled again); returns its error text or null. */
async function settle(page, prefix) {
  await page.waitForFunction((p) => document.getElementById(`${p}-run`).disabled === false, prefix, { timeout: 60000 });
  const error = page.locator(`#${prefix}-error`);
  return (await error.isVisible()) ? (await error.innerText()).trim() : null;
}

/** Fills and submits the forecast form; resolves to its error text or null. */
export async function submitForecast(page, { model, dataset, csv, horizon, levels, method }) {
  await page.selectOption('#fc-model', model);
  await chooseSource(page, 'fc', { dataset, csv });
  await page.fill('#fc-horizon', String(horizon));
  if (levels !== undefined) await page.fill('#fc-levels', levels);
  if (method !== undefined) await page.selectOption('#fc-method', String(method));
  await page.click('#fc-run');
  return settle(page, 'fc');
}

/** What the fan chart carries: forecast points, history points, bands, caption. */
export async function readChart(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('#forecast-result svg.fan-chart');
    if (!svg) return null;
    const points = [...svg.querySelectorAll('circle.fc-point')].map((c) => ({
      period: c.dataset.period,
      mean: Number(c.dataset.mean),
      intervals: JSON.parse(c.dataset.intervals),
    }));
    const history = [...svg.querySelectorAll('circle.hist-point')].map((c) => ({ period: c.dataset.period, value: Number(c.dataset.value) }));
    const bands = [...svg.querySelectorAll('path.band')].map((p) => ({
      level: Number(p.dataset.level),
      periods: JSON.parse(p.dataset.periods),
      lower: JSON.parse(p.dataset.lower),
      upper: JSON.parse(p.dataset.upper),
    }));
    const xLabels = [...svg.querySelectorAll('.x-axis text')].map((t) => t.textContent);
    const caption = document.querySelector('#forecast-result figcaption')?.textContent ?? '';
    const tableRows = [...document.querySelectorAll('#fc-table tbody tr')].map((r) => ({ period: r.dataset.period, mean: Number(r.querySelector('[data-mean]').dataset.mean) }));
    return { points, history, bands, xLabels, caption, tableRows };
  });
}

const close = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-9, `${what}: chart ${a} != API ${b}`);

/** Asserts that the chart shows exactly the API's forecast `response` (within 1e-9). */
export function assertChartMatches(chart, response) {
  assert.ok(chart, 'no chart drawn');
  assert.equal(chart.points.length, response.points.length, 'number of forecast points');
  response.points.forEach((p, i) => {
    const c = chart.points[i];
    assert.equal(c.period, p.period);
    close(c.mean, p.mean, `${p.period} mean`);
    assert.equal(c.intervals.length, p.intervals.length, `${p.period} intervals`);
    for (const iv of p.intervals) {
      const ci = c.intervals.find((x) => x.level === iv.level);
      assert.ok(ci, `${p.period}: no ${iv.level}% interval in the chart`);
      close(ci.lower, iv.lower, `${p.period} ${iv.level}% lower`);
      close(ci.upper, iv.upper, `${p.period} ${iv.level}% upper`);
    }
  });
  // The bands carry the same numbers.
  const levels = [...new Set(response.points.flatMap((p) => p.intervals.map((i) => i.level)))];
  assert.equal(chart.bands.length, levels.length, 'one band per level');
  for (const band of chart.bands) {
    band.periods.forEach((period, k) => {
      const iv = response.points.find((p) => p.period === period).intervals.find((i) => i.level === band.level);
      close(band.lower[k], iv.lower, `band ${band.level} ${period} lower`);
      close(band.upper[k], iv.upper, `band ${band.level} ${period} upper`);
    });
  }
  // The table too.
  assert.deepEqual(chart.tableRows.map((r) => r.period), response.points.map((p) => p.period));
  chart.tableRows.forEach((r, i) => close(r.mean, response.points[i].mean, `table ${r.period} mean`));
  // The caption names the model, its version and hash prefix.
  const m = response.model;
  assert.match(chart.caption, new RegExp(`${m.name} ${m.version.replace(/\./g, '\\.')}`));
  assert.ok(chart.caption.includes(m.sha256.slice(0, 12)), `caption '${chart.caption}' lacks the sha256 prefix`);
}

/** Fills and submits the backtest form; resolves to its error text or null. */
export async function submitBacktest(page, { models, dataset, csv, horizon, origins }) {
  for (const box of await page.$$('input[name="bt-model"]')) {
    const name = await box.getAttribute('value');
    if (models.includes(name)) await box.check();
    else await box.uncheck();
  }
  await chooseSource(page, 'bt', { dataset, csv });
  await page.fill('#bt-horizon', String(horizon));
  await page.fill('#bt-origins', String(origins));
  await page.click('#bt-run');
  return settle(page, 'bt');
}

/** The leaderboard's ranked rows, in page order: [{rank, model, owa, smape, mase}], and unscored names. */
export async function readLeaderboard(page) {
  return page.evaluate(() => ({
    ranked: [...document.querySelectorAll('#bt-table tbody tr.ranked')].map((r) => ({
      rank: Number(r.dataset.rank),
      model: r.dataset.model,
      owa: Number(r.dataset.owa),
      smape: Number(r.dataset.smape),
      mase: Number(r.dataset.mase),
    })),
    unscored: [...document.querySelectorAll('#bt-table tbody tr.unscored')].map((r) => r.dataset.model),
    reference: document.querySelector('#bt-table tfoot tr')?.dataset.owa ?? null,
  }));
}

/** Fills and submits the risk form: `indicators` by name (others cleared); resolves to its error text or null. */
export async function submitRisk(page, { model, subject = '', indicators }) {
  await page.selectOption('#rk-model', model);
  await page.fill('#rk-subject', subject);
  for (const input of await page.$$('#rk-indicators input[data-indicator]')) {
    const name = await input.getAttribute('data-indicator');
    await input.fill(name in indicators ? String(indicators[name]) : '');
  }
  const missing = await page.evaluate(
    (names) => names.filter((n) => !document.querySelector(`#rk-indicators input[data-indicator="${n}"]`)),
    Object.keys(indicators),
  );
  assert.deepEqual(missing, [], 'indicators the form has no input for');
  await page.click('#rk-run');
  return settle(page, 'rk');
}

export async function readRisk(page) {
  return page.evaluate(() => ({
    score: Number(document.querySelector('#rk-score')?.dataset.score),
    shown: document.querySelector('#rk-score')?.textContent ?? '',
    band: document.querySelector('#rk-band')?.dataset.band ?? '',
    factors: [...document.querySelectorAll('#risk-result li.factor')].map((li) => ({
      indicator: li.dataset.indicator,
      value: Number(li.dataset.value),
      contribution: Number(li.dataset.contribution),
    })),
  }));
}

/**
 * Accessibility sanity: one h1; every visible form control has a label (a
 * <label>, aria-label or aria-labelledby); every image (svg role=img) a
 * name; every section a heading; live regions present; no duplicate ids.
 * Returns the list of problems (empty when none).
 */
export async function accessibilityProblems(page) {
  const problems = await page.evaluate(() => {
    const out = [];
    const h1 = document.querySelectorAll('h1');
    if (h1.length !== 1) out.push(`${h1.length} h1 elements (want 1)`);
    for (const c of document.querySelectorAll('input, select, textarea, button')) {
      if (c.type === 'hidden') continue;
      const named =
        (c.labels && [...c.labels].some((l) => l.textContent.trim())) ||
        c.getAttribute('aria-label') ||
        c.getAttribute('aria-labelledby') ||
        (c.tagName === 'BUTTON' && c.textContent.trim());
      if (!named) out.push(`${c.tagName.toLowerCase()}#${c.id || '?'} has no label`);
    }
    for (const img of document.querySelectorAll('svg[role="img"], img')) {
      const ok = img.getAttribute('aria-labelledby') || img.getAttribute('aria-label') || img.getAttribute('alt');
      if (!ok) out.push('an image has no accessible name');
    }
    for (const s of document.querySelectorAll('section')) {
      if (!s.querySelector('h2')) out.push(`section#${s.id} has no h2`);
    }
    const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dup.length) out.push(`duplicate ids: ${[...new Set(dup)].join(', ')}`);
    if (!document.querySelector('[aria-live], [role="status"], [role="alert"]')) out.push('no live region');
    if (!document.documentElement.lang) out.push('html has no lang');
    return out;
  });
  // The accessibility tree (Playwright's ARIA snapshot) must show the page's landmarks and headings.
  const snapshot = await page.locator('body').ariaSnapshot();
  for (const want of ['heading "Stratus console" [level=1]', 'main', 'navigation "Sections"']) {
    if (!snapshot.includes(want)) problems.push(`ARIA snapshot lacks ${want}`);
  }
  return problems;
}

/** Console errors that are not expected network failures to `allowedUrl`. */
export function unexpectedConsoleErrors(page, allowed = []) {
  return page.consoleErrors.filter((text) => !allowed.some((re) => re.test(text)));
}
