// End-to-end test of the console against a running stratus-server started
// with --console-listen: headless Chromium (Debian's) loads the page, runs a
// forecast, a backtest and a risk score through the page, and checks that
// what the page shows equals what the API answers to the same request
// (called from here with the page's own codec, console/static/proto.js).
//
//   STRATUS_CONSOLE_URL=http://127.0.0.1:8080 \
//   STRATUS_API_URL=http://127.0.0.1:50051 \      # optional: else config.json's
//   STRATUS_SCREENSHOT=/tmp/console.png \          # optional: else $TMPDIR/stratus-console.png
//   node --test console/test/browser.test.mjs
//
// Skipped when STRATUS_CONSOLE_URL is unset. The server must have the
// bundled models (naive, canalys, bubble) and built-in datasets.

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
  screenshotPath,
  submitBacktest,
  submitForecast,
  submitRisk,
} from './driver.mjs';

const CONSOLE_URL = process.env.STRATUS_CONSOLE_URL?.replace(/\/+$/, '');

describe('console against the real server', { skip: CONSOLE_URL ? false : 'STRATUS_CONSOLE_URL is not set' }, () => {
  let browser;
  let page;
  let api;

  before(async () => {
    const missing = browserMissing();
    if (missing) throw new Error(`STRATUS_CONSOLE_URL is set but the browser cannot run: ${missing}`);
    const config = await (await fetch(`${CONSOLE_URL}/config.json`)).json();
    assert.match(config.api, /^https?:\/\//, 'config.json names the API');
    api = process.env.STRATUS_API_URL?.replace(/\/+$/, '') || config.api;
    browser = await launch();
    page = await openConsole(browser, `${CONSOLE_URL}/`);
  });

  let screenshotSaved = false;
  after(async () => {
    // After a failure too: the page as the failing step left it.
    if (page && !screenshotSaved) await page.screenshot({ path: screenshotPath(), fullPage: true }).catch(() => {});
    await browser?.close();
  });

  test('the models table shows what ListModels says', async () => {
    const shown = await readModels(page);
    const { models } = await call(api, 'ListModels');
    assert.deepEqual(
      shown.map((m) => [m.name, m.version === '—' ? '' : m.version, m.shaTitle === 'no hash' ? '' : m.shaTitle]),
      models.map((m) => [m.name, m.version, m.sha256]),
    );
    for (const m of shown.filter((x) => x.shaTitle !== 'no hash')) assert.equal(m.shaShown, m.shaTitle.slice(0, 12));
    for (const name of ['naive', 'canalys', 'bubble']) assert.ok(shown.some((m) => m.name === name), `${name} is listed`);
  });

  test('forecast naive on china-cloud-infra-annual, horizon 3: the chart is the API answer', async () => {
    const error = await submitForecast(page, {
      model: 'naive',
      dataset: 'china-cloud-infra-annual',
      horizon: 3,
      levels: '80, 95',
      method: 1,
    });
    assert.equal(error, null);
    const chart = await readChart(page);
    const response = await call(api, 'Forecast', {
      model: { name: 'naive' },
      dataset: 'china-cloud-infra-annual',
      horizon: 3,
      levels: [80, 95],
      interval_method: 1,
    });
    assert.equal(response.points.length, 3);
    assertChartMatches(chart, response);
    assert.deepEqual(
      chart.points.map((p) => p.period),
      ['2025', '2026', '2027'],
    );
    const { series } = await call(api, 'GetDataset', { name: 'china-cloud-infra-annual' });
    assert.deepEqual(chart.history, series.observations.map((o) => ({ period: o.period, value: o.value })));
  });

  test('backtest naive + canalys: both ranked by OWA ascending, as the API scores them', async () => {
    const request = { dataset: 'china-cloud-infra-quarterly', horizon: 4, origins: 4 };
    const error = await submitBacktest(page, { models: ['naive', 'canalys'], ...request });
    assert.equal(error, null);
    const board = await readLeaderboard(page);
    assert.deepEqual(board.ranked.map((r) => r.model).sort(), ['canalys', 'naive']);
    assert.deepEqual(board.ranked.map((r) => r.rank), [1, 2]);
    assert.ok(board.ranked[0].owa <= board.ranked[1].owa, 'ranked by OWA ascending');
    const response = await call(api, 'Backtest', { models: [{ name: 'naive' }, { name: 'canalys' }], ...request, levels: [80, 95] });
    for (const row of board.ranked) {
      const s = response.scores.find((x) => x.model.name === row.model);
      assert.ok(Math.abs(row.owa - s.owa) <= 1e-9, `${row.model} OWA`);
      assert.ok(Math.abs(row.smape - s.smape) <= 1e-9, `${row.model} sMAPE`);
      assert.ok(Math.abs(row.mase - s.mase) <= 1e-9, `${row.model} MASE`);
    }
    assert.ok(Math.abs(Number(board.reference) - response.naive2.owa) <= 1e-9, 'Naive2 reference row');
  });

  test('risk scorecard with bubble: the score shown is the API score', async () => {
    const indicators = {
      capex_growth_pct: 202,
      revenue_growth_pct: 13,
      utilization_pct: 30,
      capex_to_revenue: 0.52,
      unit_price_change_pct: -22,
    };
    const subject = 'China AI data centres 2024-25';
    const error = await submitRisk(page, { model: 'bubble', subject, indicators });
    assert.equal(error, null);
    const shown = await readRisk(page);
    const response = await call(api, 'ScoreRisk', { model: { name: 'bubble' }, subject, indicators });
    assert.ok(Math.abs(shown.score - response.score) <= 1e-9, `score ${shown.score} vs ${response.score}`);
    assert.equal(shown.shown, response.score.toFixed(1));
    assert.equal(`RISK_BAND_${shown.band}`, ['RISK_BAND_UNSPECIFIED', 'RISK_BAND_LOW', 'RISK_BAND_MODERATE', 'RISK_BAND_HIGH', 'RISK_BAND_SEVERE'][response.band]);
    assert.equal(shown.factors.length, response.factors.length);
    for (const f of response.factors) {
      const s = shown.factors.find((x) => x.indicator === f.indicator);
      assert.ok(s, `factor ${f.indicator} shown`);
      assert.ok(Math.abs(s.contribution - f.contribution) <= 1e-9, `${f.indicator} contribution`);
    }
  });

  test('an invalid request shows the status and its field violations', async () => {
    const error = await submitForecast(page, { model: 'naive', dataset: 'china-cloud-infra-annual', horizon: 0 });
    assert.match(error, /INVALID_ARGUMENT: horizon: /);
    assert.match(error, /Field violations:\s*horizon: /);
    assert.equal(await page.getAttribute('#fc-horizon', 'aria-invalid'), 'true');
    // Leave the page showing a forecast for the screenshot.
    assert.equal(await submitForecast(page, { model: 'naive', dataset: 'china-cloud-infra-annual', horizon: 3 }), null);
  });

  test('accessibility sanity, a clean console, and a screenshot', async (t) => {
    assert.deepEqual(await accessibilityProblems(page), []);
    assert.deepEqual(page.pageErrors, []);
    assert.deepEqual(page.consoleErrors, []);
    const path = screenshotPath();
    await page.screenshot({ path, fullPage: true });
    screenshotSaved = true;
    t.diagnostic(`screenshot: ${path}`);
  });
});
