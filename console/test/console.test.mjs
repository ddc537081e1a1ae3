// Unit tests of the page's own logic that needs no browser: CSV parsing and
// the leaderboard's ranking (console/static/console.js, imported in Node).
//
//   node --test console/test/console.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCsv, rankScores } from '../static/console.js';

test('CSV: header optional, comments and blank lines skipped, frequency from the first period', () => {
  const want = { name: 'pasted', unit: '', frequency: 1, observations: [{ period: '2023', value: 35.4 }, { period: '2024', value: 40 }] };
  assert.deepEqual(parseCsv('period,value\n2023,35.4\n2024,40\n'), want);
  assert.deepEqual(parseCsv('2023,35.4\r\n\r\n# note\n2024,40'), want);
  assert.deepEqual(parseCsv(' 2023 ; 35.4 \n2024\t40'), want);
  // Columns found by name in a header.
  assert.deepEqual(parseCsv('value,period,source\n35.4,2023,x\n40,2024,y'), want);
  assert.equal(parseCsv('2024-q3,1\n2024-Q4,2').frequency, 2);
  assert.deepEqual(parseCsv('2024-q3,1').observations, [{ period: '2024-Q3', value: 1 }]);
  assert.equal(parseCsv('2024-07,1\n2024-08,2').frequency, 3);
  assert.equal(parseCsv('2024,-1.5e3').observations[0].value, -1500);
});

test('CSV: problems name the line', () => {
  assert.throws(() => parseCsv(''), /csv: paste at least one period,value line/);
  assert.throws(() => parseCsv('period,value\n'), /header but no rows/);
  assert.throws(() => parseCsv('2023,1\n2024,abc'), /line 2: value 'abc' for '2024' is not a number/);
  assert.throws(() => parseCsv('2023,1\n2024,'), /line 2: value '' for '2024' is not a number/);
  assert.throws(() => parseCsv('2023'), /line 1: value '' for '2023' is not a number/);
  assert.throws(() => parseCsv('Jan 2024,1'), /line 1: 'Jan 2024' is not a period like 2024, 2024-Q3 or 2024-07/);
  assert.throws(() => parseCsv('2024-13,1'), /is not a period/);
});

test('leaderboard: scored models by OWA ascending (ties by sMAPE), the unscored after in request order', () => {
  const s = (name, owa, smape = 1, error = '') => ({ model: { name }, owa, smape, error });
  const { scored, unscored } = rankScores([
    s('naive', 1.67),
    s('broken', NaN, NaN, 'origin 1: series too short'),
    s('canalys', 0.739),
    s('tie-b', 0.9, 5),
    s('tie-a', 0.9, 4),
    s('nan-no-error', NaN),
  ]);
  assert.deepEqual(scored.map((x) => x.model.name), ['canalys', 'tie-a', 'tie-b', 'naive']);
  assert.deepEqual(unscored.map((x) => x.model.name), ['broken', 'nan-no-error']);
});
