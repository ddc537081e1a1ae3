// Browser tests of the page on its own, without stratus-server: headless
// Chromium against console/static/ served by a tiny static server, with
// config.json pointing at (a) a dead port, (b) an API without CORS, (c)
// mock-api.mjs, a stand-in speaking gRPC-Web with CORS as the real server
// must. The page is served with a strict Content-Security-Policy (no inline
// script or style), which it must run under without a console error.
// browser.test.mjs runs the same page against the real server.
//
// Needs Debian's chromium and playwright-core (npm ci --prefix console);
// skipped when either is missing.
//
//   node --test console/test/page.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { call } from '../static/proto.js';
import {
  accessibilityProblems,
  assertChartMatches,
  browserMissing,
  launch,
  openConsole,
  readChart,
  readLeaderboard,
  readModels,
  readRisk,
  submitBacktest,
  submitForecast,
  submitRisk,
  tmpPath,
  unexpectedConsoleErrors,
} from './driver.mjs';
import { deadUrl, serveConsole, startMockApi } from './mock-api.mjs';

const missing = browserMissing();

describe('console page (mock API)', { skip: missing ?? false }, () => {
  let browser;
  const cleanup = [];
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    for (const f of cleanup.reverse()) await f();
    await browser?.close();
  });

  test('a dead API: a clear message, the retry button, no other console errors', async () => {
    const api = await deadUrl();
    const site = await serveConsole(api);
    cleanup.push(site.close);
    const page = await openConsole(browser, `${site.url}/`, { waitFor: 'none' });
    await page.locator('#api-error').waitFor({ state: 'visible', timeout: 20000 });
    const text = await page.locator('#api-error').innerText();
    assert.match(text, new RegExp(`Cannot reach the API at ${api.replace(/[.:/]/g, '\\$&')}`));
    assert.match(text, /--console-listen/);
    assert.equal(await page.locator('#api-status').innerText(), 'Not connected.');
    assert.ok(await page.locator('#api-retry').isVisible());
    assert.equal(await page.locator('#fc-run').isDisabled(), true);
    assert.deepEqual(page.pageErrors, []);
    // Chromium logs each refused request itself; nothing else may be logged.
    assert.deepEqual(unexpectedConsoleErrors(page, [/ERR_CONNECTION_REFUSED/]), []);
    assert.ok(page.consoleErrors.length >= 1, 'expected the refused requests in the console');
    // Only the page's own files and config.json were asked of the console server.
    assert.deepEqual([...new Set(site.requests)].sort(), ['/', '/config.json', '/console.css', '/console.js', '/proto.js']);
    assert.deepEqual(await accessibilityProblems(page), []);
    await page.context().close();
  });

  test('an API without CORS: the same clear message', async () => {
    const api = await startMockApi({ cors: false });
    const site = await serveConsole(api.url);
    cleanup.push(site.close, api.close);
    const page = await openConsole(browser, `${site.url}/`, { waitFor: 'none' });
    await page.locator('#api-error').waitFor({ state: 'visible', timeout: 20000 });
    assert.match(await page.locator('#api-error').innerText(), /Cannot reach the API at .*CORS/s);
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  describe('with the mock API', () => {
    let api;
    let site;
    let page;
    before(async () => {
      api = await startMockApi();
      site = await serveConsole(api.url);
      cleanup.push(site.close, api.close);
      page = await openConsole(browser, `${site.url}/`);
    });

    test('models table: name, version, kind, state, sha256 prefix with the full hash as title', async () => {
      const models = await readModels(page);
      const { models: listed } = await call(api.url, 'ListModels');
      assert.deepEqual(
        models.map((m) => m.name),
        listed.map((m) => m.name),
      );
      const naive = models.find((m) => m.name === 'naive');
      const want = listed.find((m) => m.name === 'naive');
      assert.equal(naive.version, '1.0.0');
      assert.equal(naive.kind, 'forecast');
      assert.match(naive.state, /ready/);
      assert.equal(naive.shaShown, want.sha256.slice(0, 12));
      assert.equal(naive.shaTitle, want.sha256);
      assert.match(models.find((m) => m.name === 'libbroken.so').state, /failed.*symbol/s);
      // Only ready forecast models in the forecast select; risk models in the risk one.
      const options = await page.$$eval('#fc-model option', (o) => o.map((x) => x.value));
      assert.deepEqual(options, ['naive', 'canalys', 'auto']);
      assert.deepEqual(await page.$$eval('#rk-model option', (o) => o.map((x) => x.value)), ['bubble']);
    });

    test('forecast: the chart carries exactly the API answer', async () => {
      const error = await submitForecast(page, { model: 'naive', dataset: 'china-cloud-infra-annual', horizon: 3 });
      assert.equal(error, null);
      const chart = await readChart(page);
      const response = await call(api.url, 'Forecast', {
        model: { name: 'naive', version: '1.0.0' },
        dataset: 'china-cloud-infra-annual',
        horizon: 3,
        levels: [80, 95],
        interval_method: 1,
      });
      assertChartMatches(chart, response);
      const { series } = await call(api.url, 'GetDataset', { name: 'china-cloud-infra-annual' });
      assert.deepEqual(chart.history, series.observations);
      assert.deepEqual(chart.xLabels, ['2019', '2020', '2021', '2022', '2023', '2024', '2025', '2026', '2027']);
      assert.match(await page.locator('#fc-status').innerText(), /Forecast ready: 3 periods from 2025 to 2027/);
    });

    test('forecast from pasted CSV, other levels, conformal', async () => {
      const csv = '# comment\nperiod,value\n2023-Q1,10\n2023-Q2,11.5\n2023-Q3,12\n2023-q4,14\n\n';
      const error = await submitForecast(page, { model: 'canalys', csv, horizon: 2, levels: '50, 90', method: 2 });
      assert.equal(error, null);
      const chart = await readChart(page);
      const response = await call(api.url, 'Forecast', {
        model: { name: 'canalys' },
        series: {
          name: 'pasted',
          frequency: 2,
          observations: [
            { period: '2023-Q1', value: 10 },
            { period: '2023-Q2', value: 11.5 },
            { period: '2023-Q3', value: 12 },
            { period: '2023-Q4', value: 14 },
          ],
        },
        horizon: 2,
        levels: [50, 90],
        interval_method: 2,
      });
      assertChartMatches(chart, response);
      assert.deepEqual(chart.points.map((p) => p.period), ['2024-Q1', '2024-Q2']);
      assert.equal(chart.history.length, 4);
    });

    test('errors: gRPC status name, message and field violations; the field is marked invalid', async () => {
      const error = await submitForecast(page, { model: 'naive', dataset: 'china-cloud-infra-annual', horizon: 0, levels: '80, 95' });
      assert.match(error, /^⚠?\s*INVALID_ARGUMENT: horizon: must be at least 1/);
      assert.match(error, /Field violations:\s*horizon: must be at least 1/);
      assert.equal(await page.getAttribute('#fc-horizon', 'aria-invalid'), 'true');
      assert.equal(await page.locator('#forecast-result').innerHTML(), '', 'no stale chart under an error');
      // A form problem found before sending: named, and nothing sent.
      const before = api.calls.length;
      const csvError = await submitForecast(page, { model: 'naive', csv: '2024,abc', horizon: 3 });
      assert.match(csvError, /Check the form: csv: line 1: value 'abc' for '2024' is not a number/);
      assert.equal(api.calls.length, before);
      assert.equal(await page.getAttribute('#fc-horizon', 'aria-invalid'), null, 'the old mark is cleared');
      assert.equal(await page.getAttribute('#fc-csv', 'aria-invalid'), 'true');
      // NOT_FOUND, no details.
      await page.evaluate(() => {
        const o = document.createElement('option');
        o.value = 'gone';
        o.textContent = 'gone';
        document.getElementById('fc-dataset').append(o);
      });
      const notFound = await submitForecast(page, { model: 'naive', dataset: 'gone', horizon: 3 });
      assert.match(notFound, /NOT_FOUND: dataset 'gone' not found/);
      assert.doesNotMatch(notFound, /Field violations/);
      await page.evaluate(() => document.querySelector('#fc-dataset option[value="gone"]').remove());
      await page.selectOption('#fc-dataset', 'china-cloud-infra-annual');
    });

    test('backtest leaderboard: ranked by OWA ascending, Naive2 as the reference', async () => {
      const error = await submitBacktest(page, { models: ['naive', 'canalys'], dataset: 'china-cloud-infra-quarterly', horizon: 4, origins: 4 });
      assert.equal(error, null);
      const board = await readLeaderboard(page);
      assert.deepEqual(board.ranked.map((r) => r.model).sort(), ['canalys', 'naive']);
      assert.deepEqual(board.ranked.map((r) => r.rank), [1, 2]);
      assert.ok(board.ranked[0].owa <= board.ranked[1].owa);
      const response = await call(api.url, 'Backtest', {
        models: [{ name: 'naive' }, { name: 'canalys' }],
        dataset: 'china-cloud-infra-quarterly',
        horizon: 4,
        origins: 4,
        levels: [80, 95],
      });
      for (const r of board.ranked) {
        const s = response.scores.find((x) => x.model.name === r.model);
        assert.equal(r.owa, s.owa);
        assert.equal(r.smape, s.smape);
      }
      assert.equal(board.reference, '1');
      const header = await page.$$eval('#bt-table thead th', (th) => th.map((x) => x.textContent));
      assert.deepEqual(header.slice(0, 6), ['Rank', 'Model', 'Version', 'sMAPE %', 'MASE', 'OWA']);
      assert.ok(header.some((h) => h.startsWith('Coverage 80%')));
      // A model that cannot be scored is listed below the ranking with its reason.
      const withAuto = await submitBacktest(page, { models: ['naive', 'canalys', 'auto'], dataset: 'china-cloud-infra-quarterly', horizon: 4, origins: 4 });
      assert.equal(withAuto, null);
      const board2 = await readLeaderboard(page);
      assert.equal(board2.ranked.length, 3);
      assert.deepEqual(board2.ranked.map((r) => r.model), ['canalys', 'auto', 'naive']);
    });

    test('risk scorecard: indicators prefilled from the model, score and contributions as the API says', async () => {
      const prefilled = await page.$$eval('#rk-indicators input[data-indicator]', (xs) => xs.map((x) => [x.dataset.indicator, x.value, x.labels[0].textContent]));
      const { models } = await call(api.url, 'ListModels');
      const bubble = models.find((m) => m.name === 'bubble');
      assert.deepEqual(
        prefilled,
        bubble.inputs.map((i) => [i.name, String(i.default_value), i.name]),
      );
      const indicators = { capex_growth_pct: 202, revenue_growth_pct: 13, utilization_pct: 30, capex_to_revenue: 0.52, unit_price_change_pct: -22 };
      const error = await submitRisk(page, { model: 'bubble', subject: 'China AI data centres 2024-25', indicators });
      assert.equal(error, null);
      const shown = await readRisk(page);
      const response = await call(api.url, 'ScoreRisk', { model: { name: 'bubble' }, subject: 'China AI data centres 2024-25', indicators });
      assert.ok(Math.abs(shown.score - response.score) <= 1e-9);
      assert.equal(shown.shown, response.score.toFixed(1));
      assert.equal(shown.band, ['UNSPECIFIED', 'LOW', 'MODERATE', 'HIGH', 'SEVERE'][response.band]);
      assert.deepEqual(
        shown.factors.map((f) => f.indicator).sort(),
        response.factors.map((f) => f.indicator).sort(),
      );
      for (const f of shown.factors) {
        const want = response.factors.find((x) => x.indicator === f.indicator);
        assert.ok(Math.abs(f.contribution - want.contribution) <= 1e-9);
      }
      // Bars: sorted by contribution, widths in points out of 100.
      const widths = await page.$$eval('#risk-result .bar', (bars) => bars.map((b) => parseFloat(b.style.width)));
      assert.deepEqual(widths, [...widths].sort((a, b) => b - a));
      // A violation on one indicator marks that input.
      const bad = await submitRisk(page, { model: 'bubble', indicators: { capex_growth_pct: 20000, utilization_pct: 30, revenue_growth_pct: 1 } });
      assert.match(bad, /indicators\[capex_growth_pct\]: 20000 is outside/);
      assert.equal(await page.getAttribute('#rk-ind-capex_growth_pct', 'aria-invalid'), 'true');
    });

    test('keyboard: the forecast form can be filled and sent with the keyboard alone', async () => {
      await page.check('#fc-src-csv');
      await page.focus('#fc-model');
      await page.keyboard.press('Tab'); // to the group's checked radio: pasted CSV
      assert.equal(await page.evaluate(() => document.activeElement.id), 'fc-src-csv');
      await page.keyboard.press('ArrowUp'); // the other radio of the group: built-in dataset
      assert.equal(await page.evaluate(() => document.activeElement.id), 'fc-src-dataset');
      assert.equal(await page.isChecked('#fc-src-dataset'), true);
      assert.equal(await page.isDisabled('#fc-csv'), true);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'fc-dataset');
      await page.focus('#fc-horizon');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('2');
      await page.focus('#fc-levels');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('80, 95');
      await page.focus('#fc-run');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelectorAll('#forecast-result circle.fc-point').length === 2);
    });

    test('what the API sees: preflights ask for content-type and x-grpc-web only; calls carry the gRPC-Web headers', async () => {
      assert.ok(api.preflights.length > 0, 'the API is another origin: expected CORS preflights');
      for (const p of api.preflights) {
        assert.equal(p.origin, site.url);
        assert.equal(p.method, 'POST');
        assert.deepEqual(p.headers.split(',').map((h) => h.trim()).sort(), ['content-type', 'x-grpc-web']);
      }
      const fromPage = api.calls.filter((c) => c.headers.origin === site.url);
      assert.ok(fromPage.length > 0);
      for (const c of fromPage) {
        assert.equal(c.headers['content-type'], 'application/grpc-web+proto');
        assert.equal(c.headers['x-grpc-web'], '1');
      }
      const methods = new Set(fromPage.map((c) => c.method));
      for (const m of ['ListModels', 'ListDatasets', 'GetDataset', 'Forecast', 'Backtest', 'ScoreRisk']) assert.ok(methods.has(m), m);
    });

    test('accessibility sanity, screenshot, and no console errors', async () => {
      assert.deepEqual(await accessibilityProblems(page), []);
      await submitForecast(page, { model: 'naive', dataset: 'china-cloud-infra-annual', horizon: 3 });
      await page.screenshot({ path: tmpPath('stratus-console-mock.png'), fullPage: true });
      assert.deepEqual(page.pageErrors, []);
      assert.deepEqual(page.consoleErrors, []);
    });
  });
});
