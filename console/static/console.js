// Stratus console: the page's logic. No framework and no build step: it
// reads config.json (served beside this file) for the API's URL and calls the
// API with gRPC-Web through proto.js. Text from the server is only ever set as
// text (never as HTML).

import { call, enumName, GrpcError } from './proto.js';

const KIND_FORECAST = 1;
const KIND_RISK = 2;
const STATE_READY = 1;
const SVG_NS = 'http://www.w3.org/2000/svg';

const state = {
  api: null,
  models: [],
  datasets: [],
  history: new Map(), // dataset name -> Promise<Series | null>
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------- DOM helpers --

function build(doc, tag, attrs, kids) {
  const e = doc(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'style') e.style.cssText = v; // CSSOM: allowed by a CSP without 'unsafe-inline'
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    e.append(kid instanceof Node ? kid : String(kid));
  }
  return e;
}

/** An HTML element: el('p', {class: 'x'}, 'text', child, ...). */
function el(tag, attrs, ...kids) {
  return build((t) => document.createElement(t), tag, attrs, kids);
}

/** An SVG element. */
function svg(tag, attrs, ...kids) {
  return build((t) => document.createElementNS(SVG_NS, t), tag, attrs, kids);
}

function fmt(n, digits = 2) {
  if (Number.isNaN(n)) return '—';
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '−∞';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtSigned(n, digits = 1) {
  if (!Number.isFinite(n)) return '—';
  return (n > 0 ? '+' : n < 0 ? '−' : '') + fmt(Math.abs(n), digits);
}

function pct(coverage) {
  return Number.isFinite(coverage) ? `${fmt(coverage * 100, 0)}%` : '—';
}

/** The numbers as data attributes carry them: shortest text that reads back as the same double. */
function num(n) {
  return String(n);
}

function shaPrefix(sha) {
  return el('code', { class: 'sha', title: sha || 'no hash' }, sha ? sha.slice(0, 12) : '—');
}

function modelLabel(m) {
  return m.version ? `${m.name} ${m.version}` : m.name;
}

function modelCaption(m) {
  return [el('strong', {}, m.name), m.version ? ` ${m.version}` : '', ' (sha256 ', shaPrefix(m.sha256), ')'];
}

function setStatus(id, text) {
  $(id).textContent = text;
}

// ------------------------------------------------------------------ errors --

/** A problem found in the form before anything was sent. */
class FormError extends Error {
  constructor(field, message) {
    super(`${field}: ${message}`);
    this.field = field;
    this.fieldViolations = [{ field, description: message }];
  }
}

const FIELD_INPUTS = {
  fc: {
    model: 'fc-model',
    ensemble: 'fc-model',
    series: 'fc-csv',
    csv: 'fc-csv',
    dataset: 'fc-dataset',
    horizon: 'fc-horizon',
    levels: 'fc-levels',
    interval_method: 'fc-method',
  },
  bt: {
    series: 'bt-csv',
    csv: 'bt-csv',
    dataset: 'bt-dataset',
    horizon: 'bt-horizon',
    origins: 'bt-origins',
    levels: 'bt-levels',
  },
  rk: { model: 'rk-model', subject: 'rk-subject', indicators: (key) => (key ? `rk-ind-${key}` : null) },
};

/** The input a violation's field path points at, if the form has one. */
function inputFor(prefix, field) {
  const root = /^[A-Za-z_]+/.exec(field)?.[0];
  const key = /^[A-Za-z_]+\[([^\]]+)\]/.exec(field)?.[1];
  const target = FIELD_INPUTS[prefix][root];
  const id = typeof target === 'function' ? target(key) : target;
  return id ? $(id) : null;
}

function clearError(prefix) {
  const box = $(`${prefix}-error`);
  box.hidden = true;
  box.replaceChildren();
  for (const input of box.closest('form').querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    const describedBy = (input.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== box.id);
    if (describedBy.length) input.setAttribute('aria-describedby', describedBy.join(' '));
    else input.removeAttribute('aria-describedby');
  }
}

function showError(prefix, err) {
  const box = $(`${prefix}-error`);
  const lines = [];
  if (err instanceof GrpcError) {
    lines.push(
      el('p', {}, el('strong', { class: 'code' }, err.codeName), err.grpcMessage ? `: ${err.grpcMessage}` : ''),
    );
    if (err.network) {
      lines.push(
        el(
          'p',
          { class: 'hint' },
          'Is stratus-server running, and was it started with --console-listen (which turns on gRPC-Web and CORS for this page on the API port)?',
        ),
      );
    }
  } else if (err instanceof FormError) {
    lines.push(el('p', {}, el('strong', { class: 'code' }, 'Check the form'), `: ${err.message}`));
  } else {
    lines.push(el('p', {}, el('strong', { class: 'code' }, 'Error'), `: ${err && err.message ? err.message : err}`));
  }
  const violations = err.fieldViolations ?? [];
  if (violations.length && !(err instanceof FormError)) {
    lines.push(
      el('p', { class: 'violations-title' }, 'Field violations:'),
      el(
        'ul',
        { class: 'violations' },
        violations.map((v) =>
          el('li', { 'data-field': v.field }, el('code', {}, v.field), ': ', v.description),
        ),
      ),
    );
  }
  box.replaceChildren(...lines);
  box.hidden = false;
  for (const v of violations) {
    const input = inputFor(prefix, v.field);
    if (!input) continue;
    input.setAttribute('aria-invalid', 'true');
    const describedBy = new Set((input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
    describedBy.add(box.id);
    input.setAttribute('aria-describedby', [...describedBy].join(' '));
  }
}

// ------------------------------------------------------------ form inputs --

/** Reads a whole number from input `id`, for field `field`. */
function whole(id, field, { min = 0 } = {}) {
  const text = $(id).value.trim();
  const n = Number(text);
  if (text === '') throw new FormError(field, 'enter a whole number');
  if (!Number.isInteger(n)) throw new FormError(field, `'${text}' is not a whole number`);
  if (n < min) throw new FormError(field, `must be at least ${min}`);
  if (n > 4294967295) throw new FormError(field, 'is too large');
  return n;
}

/** Interval levels from "80, 95" (empty: the server's default, 80 and 95). */
function levels(id, field) {
  const text = $(id).value.trim();
  if (!text) return [];
  return text.split(/[\s,;]+/).filter(Boolean).map((part, i) => {
    const n = Number(part);
    if (!Number.isFinite(n)) throw new FormError(`${field}[${i}]`, `'${part}' is not a number`);
    return n;
  });
}

const PERIOD_SHAPES = [
  [/^\d{4}$/, 1],
  [/^\d{4}-Q[1-4]$/i, 2],
  [/^\d{4}-(0[1-9]|1[0-2])$/, 3],
];

/**
 * A series from pasted CSV: `period,value` lines, header optional (the
 * columns named period and value are used when there is one), # comments
 * and blank lines ignored. The frequency is read off the first period.
 */
export function parseCsv(text, field = 'csv') {
  const rows = text
    .split(/\r?\n/)
    .map((line, i) => ({ line: i + 1, cells: line.split(/[,;\t]/).map((c) => c.trim()) }))
    .filter((r) => r.cells.join('') !== '' && !r.cells[0].startsWith('#'));
  if (!rows.length) throw new FormError(field, 'paste at least one period,value line');
  let periodCol = 0;
  let valueCol = 1;
  const first = rows[0].cells;
  // A header: a first row that is not a period followed by a number.
  const header =
    !PERIOD_SHAPES.some(([re]) => re.test(first[0])) && (first.length < 2 || first[1] === '' || !Number.isFinite(Number(first[1])));
  if (header) {
    const lower = first.map((c) => c.toLowerCase());
    if (lower.includes('period')) periodCol = lower.indexOf('period');
    if (lower.includes('value')) valueCol = lower.indexOf('value');
    rows.shift();
  }
  if (!rows.length) throw new FormError(field, 'the CSV has a header but no rows');
  const observations = rows.map(({ line, cells }) => {
    const period = cells[periodCol] ?? '';
    const raw = cells[valueCol] ?? '';
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) {
      throw new FormError(field, `line ${line}: value '${raw}' for '${period}' is not a number`);
    }
    return { period: /^\d{4}-q[1-4]$/.test(period) ? period.toUpperCase() : period, value };
  });
  const shape = PERIOD_SHAPES.find(([re]) => re.test(observations[0].period));
  if (!shape) {
    throw new FormError(field, `line ${rows[0].line}: '${observations[0].period}' is not a period like 2024, 2024-Q3 or 2024-07`);
  }
  return { name: 'pasted', unit: '', frequency: shape[1], observations };
}

/** The history a form chose: {dataset} or {series}. */
function source(prefix) {
  const csv = document.querySelector(`input[name="${prefix}-source"][value="csv"]`).checked;
  if (csv) return { series: parseCsv($(`${prefix}-csv`).value, 'csv') };
  const dataset = $(`${prefix}-dataset`).value;
  if (!dataset) throw new FormError('dataset', 'choose a dataset');
  return { dataset };
}

function wireSourceToggles() {
  for (const fieldset of document.querySelectorAll('fieldset.source')) {
    const prefix = fieldset.dataset.prefix;
    const sync = () => {
      const csv = document.querySelector(`input[name="${prefix}-source"][value="csv"]`).checked;
      $(`${prefix}-dataset`).disabled = csv;
      $(`${prefix}-csv`).disabled = !csv;
    };
    for (const radio of fieldset.querySelectorAll('input[type="radio"]')) radio.addEventListener('change', sync);
    sync();
  }
}

function modelRef(select) {
  const option = select.selectedOptions[0];
  if (!option || !option.value) throw new FormError('model', 'choose a model');
  return { name: option.dataset.name, version: option.dataset.version };
}

/** Runs `work` for form `prefix` with its button disabled and its status line telling. */
async function running(prefix, busyText, work) {
  const button = $(`${prefix}-run`);
  const result = $(`${prefix === 'fc' ? 'forecast' : prefix === 'bt' ? 'backtest' : 'risk'}-result`);
  clearError(prefix);
  button.disabled = true;
  result.setAttribute('aria-busy', 'true');
  setStatus(`${prefix}-status`, busyText);
  try {
    const summary = await work(result);
    setStatus(`${prefix}-status`, summary);
  } catch (err) {
    setStatus(`${prefix}-status`, '');
    result.replaceChildren(); // no stale result under the error
    showError(prefix, err);
    if (!(err instanceof GrpcError) && !(err instanceof FormError)) console.error(err);
  } finally {
    button.disabled = false;
    result.setAttribute('aria-busy', 'false');
  }
}

// ------------------------------------------------------------------ models --

function renderModels() {
  const tbody = $('models-table').querySelector('tbody');
  tbody.replaceChildren(
    ...state.models.map((m) => {
      const ready = m.state === STATE_READY;
      const kind = m.kind === KIND_FORECAST ? 'forecast' : m.kind === KIND_RISK ? 'risk' : 'unknown';
      return el(
        'tr',
        { 'data-model': m.name, 'data-version': m.version, 'data-sha256': m.sha256 },
        el('th', { scope: 'row' }, m.name),
        el('td', {}, m.version || '—'),
        el('td', {}, kind),
        el(
          'td',
          { class: ready ? 'state-ready' : 'state-failed' },
          ready ? '✓ ready' : `✗ ${m.state === 2 ? 'failed' : 'unknown'}`,
          m.last_error ? el('span', { class: 'hint block' }, m.last_error) : null,
        ),
        el('td', {}, shaPrefix(m.sha256)),
      );
    }),
  );
  $('models-table').setAttribute('aria-busy', 'false');
  if (!state.models.length) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 5 }, 'The server has no models loaded.')));
  }
}

function modelOption(m) {
  return el('option', { value: m.name, 'data-name': m.name, 'data-version': m.version }, modelLabel(m));
}

function readyModels(kind) {
  return state.models.filter((m) => m.kind === kind && m.state === STATE_READY);
}

function fillModelSelects() {
  const forecast = readyModels(KIND_FORECAST);
  const fc = $('fc-model');
  const previous = fc.value;
  fc.replaceChildren(...forecast.map(modelOption));
  fc.value = forecast.some((m) => m.name === previous) ? previous : forecast.some((m) => m.name === 'auto') ? 'auto' : forecast[0]?.name ?? '';

  $('bt-model-list').replaceChildren(
    ...forecast.map((m) =>
      el(
        'div',
        { class: 'choice' },
        el('input', {
          type: 'checkbox',
          id: `bt-m-${m.name}`,
          name: 'bt-model',
          value: m.name,
          'data-name': m.name,
          'data-version': m.version,
          checked: true,
        }),
        el('label', { for: `bt-m-${m.name}` }, modelLabel(m)),
      ),
    ),
  );
  if (!forecast.length) $('bt-model-list').append(el('p', { class: 'hint' }, 'No forecast model is loaded.'));

  const risk = readyModels(KIND_RISK);
  const rk = $('rk-model');
  rk.replaceChildren(...risk.map(modelOption));
  renderIndicators();
}

function fillDatasetSelects() {
  for (const id of ['fc-dataset', 'bt-dataset']) {
    const select = $(id);
    const previous = select.value;
    select.replaceChildren(
      ...state.datasets.map((d) =>
        el(
          'option',
          { value: d.name },
          d.observation_count ? `${d.name} (${d.first_period}–${d.last_period}, ${d.observation_count} points)` : d.name,
        ),
      ),
    );
    if (state.datasets.some((d) => d.name === previous)) select.value = previous;
  }
  if (!state.datasets.length) {
    for (const prefix of ['fc', 'bt']) {
      $(`${prefix}-src-csv`).checked = true;
      $(`${prefix}-src-csv`).dispatchEvent(new Event('change'));
    }
  }
}

// -------------------------------------------------------------- forecast --

function historyOf(datasetName) {
  if (!state.history.has(datasetName)) {
    state.history.set(
      datasetName,
      call(state.api, 'GetDataset', { name: datasetName }).then(
        (d) => d.series,
        () => null, // the chart is drawn without history
      ),
    );
  }
  return state.history.get(datasetName);
}

async function runForecast(result) {
  const src = source('fc');
  const request = {
    model: modelRef($('fc-model')),
    ...src,
    horizon: whole('fc-horizon', 'horizon'),
    levels: levels('fc-levels', 'levels'),
    interval_method: Number($('fc-method').value),
  };
  const [response, history] = await Promise.all([
    call(state.api, 'Forecast', request),
    src.series ? Promise.resolve(src.series) : historyOf(src.dataset),
  ]);
  result.replaceChildren(...renderForecast(response, history));
  const pts = response.points;
  return pts.length
    ? `Forecast ready: ${pts.length} periods from ${pts[0].period} to ${pts[pts.length - 1].period}, mean ${fmt(pts[0].mean)} to ${fmt(pts[pts.length - 1].mean)}.`
    : 'The forecast has no periods.';
}

function levelsOf(points) {
  const set = new Set();
  for (const p of points) for (const i of p.intervals) set.add(i.level);
  return [...set].sort((a, b) => a - b);
}

function intervalAt(point, level) {
  return point.intervals.find((i) => i.level === level);
}

function renderForecast(response, history) {
  const points = response.points;
  const lv = levelsOf(points);
  const out = [];
  const caption = el(
    'figcaption',
    {},
    'Forecast of ',
    el('strong', {}, response.series_name || 'the series'),
    ' by ',
    modelCaption(response.model ?? { name: '?' }),
    '.',
  );
  out.push(
    el(
      'figure',
      { class: 'chart', id: 'fc-figure' },
      fanChart({ history: history?.observations ?? [], unit: history?.unit ?? '', points, scenarios: response.scenarios, levels: lv }),
      chartLegend(lv, response.scenarios, history?.observations?.length > 0),
      caption,
    ),
  );

  const head = el(
    'tr',
    {},
    el('th', { scope: 'col' }, 'Period'),
    el('th', { scope: 'col' }, 'Mean'),
    el('th', { scope: 'col' }, 'Growth %'),
    lv.map((l) => [el('th', { scope: 'col' }, `${fmt(l, l % 1 ? 1 : 0)}% low`), el('th', { scope: 'col' }, `${fmt(l, l % 1 ? 1 : 0)}% high`)]),
  );
  out.push(
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { id: 'fc-table', class: 'numbers' },
        el('caption', {}, 'Forecast numbers (the chart above, as a table)'),
        el('thead', {}, head),
        el(
          'tbody',
          {},
          points.map((p) =>
            el(
              'tr',
              { 'data-period': p.period },
              el('th', { scope: 'row' }, p.period),
              el('td', { 'data-mean': num(p.mean) }, fmt(p.mean)),
              el('td', {}, fmtSigned(p.growth)),
              lv.map((l) => {
                const i = intervalAt(p, l);
                return [el('td', {}, i ? fmt(i.lower) : '—'), el('td', {}, i ? fmt(i.upper) : '—')];
              }),
            ),
          ),
        ),
      ),
    ),
  );

  if (response.scenarios.length) {
    const periods = response.scenarios[0].points.map((p) => p.period);
    out.push(
      el(
        'div',
        { class: 'table-wrap' },
        el(
          'table',
          { class: 'numbers', id: 'fc-scenarios' },
          el('caption', {}, 'Scenarios (mean path of each)'),
          el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Period'), response.scenarios.map((s) => el('th', { scope: 'col' }, s.name)))),
          el(
            'tbody',
            {},
            periods.map((period, k) =>
              el(
                'tr',
                {},
                el('th', { scope: 'row' }, period),
                response.scenarios.map((s) => el('td', {}, s.points[k] ? fmt(s.points[k].mean) : '—')),
              ),
            ),
          ),
        ),
      ),
    );
  }

  if (response.members.length) {
    out.push(
      el('h3', {}, 'Ensemble members'),
      el(
        'ul',
        { class: 'plain' },
        response.members.map((m) => el('li', {}, modelCaption(m.model ?? { name: '?' }), `: weight ${fmt(m.weight, 3)}`)),
      ),
    );
  }
  const fitted = Object.entries(response.fitted).sort(([a], [b]) => (a < b ? -1 : 1));
  if (fitted.length) {
    out.push(
      el('h3', {}, 'Fitted parameters'),
      el('dl', { class: 'fitted' }, fitted.map(([k, v]) => [el('dt', {}, k), el('dd', {}, fmt(v, 4))])),
    );
  }
  if (response.notes.length) {
    out.push(el('h3', {}, 'Notes'), el('ul', { class: 'notes' }, response.notes.map((n) => el('li', {}, n))));
  }
  return out;
}

/** Round tick values covering [min, max]. */
function niceTicks(min, max, count = 5) {
  if (!(max > min)) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo, hi, ticks, step };
}

function tickLabel(t, step) {
  const digits = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
  return fmt(t, digits);
}

/**
 * The fan chart: history line, mean path, one shaded band per level (widest
 * palest), scenario paths, axes with period labels. Every drawn number is in
 * data attributes: history points (circle.hist-point: data-period,
 * data-value), forecast points (circle.fc-point: data-period, data-mean,
 * data-growth, data-intervals = JSON [{level, lower, upper}]), bands
 * (path.band: data-level, data-periods, data-lower, data-upper as JSON).
 */
function fanChart({ history, unit, points, scenarios, levels: lv }) {
  const W = 760;
  const H = 380;
  const m = { top: 24, right: 110, bottom: 44, left: 72 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const periods = [...history.map((o) => o.period), ...points.map((p) => p.period)];
  const n = periods.length;
  const first = history.length; // index of the first forecast period
  const x = (i) => m.left + (n === 1 ? plotW / 2 : (i * plotW) / (n - 1));

  const values = [];
  for (const o of history) values.push(o.value);
  for (const p of points) {
    values.push(p.mean);
    for (const i of p.intervals) values.push(i.lower, i.upper);
  }
  for (const s of scenarios) for (const p of s.points) values.push(p.mean);
  const finite = values.filter(Number.isFinite);
  if (!finite.length) finite.push(0, 1);
  const { lo, hi, ticks, step } = niceTicks(Math.min(...finite), Math.max(...finite));
  const y = (v) => m.top + plotH - ((v - lo) / (hi - lo)) * plotH;
  const id = 'fc-chart';

  const g = [];
  // Grid and y axis.
  g.push(
    svg(
      'g',
      { class: 'axis y-axis', 'aria-hidden': 'true' },
      ticks.map((t) => [
        svg('line', { class: 'grid', x1: m.left, x2: m.left + plotW, y1: y(t), y2: y(t) }),
        svg('text', { x: m.left - 8, y: y(t), dy: '0.32em', 'text-anchor': 'end' }, tickLabel(t, step)),
      ]),
      unit
        ? svg('text', { class: 'axis-title', x: 14, y: m.top + plotH / 2, transform: `rotate(-90 14 ${m.top + plotH / 2})`, 'text-anchor': 'middle' }, unit)
        : null,
    ),
  );
  // X axis with thinned period labels (always the last history and last forecast period).
  const maxLabels = Math.max(2, Math.floor(plotW / 64));
  const every = Math.max(1, Math.ceil(n / maxLabels));
  g.push(
    svg(
      'g',
      { class: 'axis x-axis', 'aria-hidden': 'true' },
      svg('line', { class: 'baseline', x1: m.left, x2: m.left + plotW, y1: m.top + plotH, y2: m.top + plotH }),
      periods.map((p, i) =>
        (n - 1 - i) % every === 0
          ? [
              svg('line', { class: 'tick', x1: x(i), x2: x(i), y1: m.top + plotH, y2: m.top + plotH + 5 }),
              svg('text', { x: x(i), y: m.top + plotH + 20, 'text-anchor': 'middle' }, p),
            ]
          : null,
      ),
    ),
  );
  // Where the forecast starts.
  if (first > 0 && points.length) {
    const xs = (x(first - 1) + x(first)) / 2;
    g.push(
      svg(
        'g',
        { class: 'divider', 'aria-hidden': 'true' },
        svg('line', { x1: xs, x2: xs, y1: m.top, y2: m.top + plotH }),
        svg('text', { x: xs + 6, y: m.top + 12 }, 'forecast →'),
      ),
    );
  }
  // Bands, widest (palest) first; each starts at the last observation.
  const anchor = first > 0 ? [x(first - 1), y(history[first - 1].value)] : null;
  const desc = [...lv].sort((a, b) => b - a);
  desc.forEach((level, k) => {
    const rows = points.map((p, i) => ({ p, i, iv: intervalAt(p, level) })).filter((r) => r.iv);
    if (!rows.length) return;
    const upper = rows.map((r) => [x(first + r.i), y(r.iv.upper)]);
    const lower = rows.map((r) => [x(first + r.i), y(r.iv.lower)]).reverse();
    const ring = [...(anchor ? [anchor] : []), ...upper, ...lower];
    g.push(
      svg('path', {
        class: `band band-${k}`,
        'data-level': num(level),
        'data-periods': JSON.stringify(rows.map((r) => r.p.period)),
        'data-lower': JSON.stringify(rows.map((r) => r.iv.lower)),
        'data-upper': JSON.stringify(rows.map((r) => r.iv.upper)),
        'fill-opacity': bandOpacity(k, desc.length).toFixed(2),
        d: `M${ring.map(([a, b]) => `${a.toFixed(2)},${b.toFixed(2)}`).join('L')}Z`,
      }),
    );
  });
  // Scenarios.
  scenarios.forEach((s, k) => {
    const pts = s.points.map((p, i) => [x(first + i), y(p.mean)]);
    if (!pts.length) return;
    const path = [...(anchor ? [anchor] : []), ...pts];
    const [lx, ly] = pts[pts.length - 1];
    g.push(
      svg(
        'g',
        { class: `scenario scenario-${k % 3}`, 'data-scenario': s.name, 'data-values': JSON.stringify(s.points.map((p) => p.mean)) },
        svg('path', { d: `M${path.map(([a, b]) => `${a.toFixed(2)},${b.toFixed(2)}`).join('L')}` }),
        svg('text', { x: lx + 6, y: ly, dy: '0.32em' }, s.name),
      ),
    );
  });
  // History.
  if (history.length) {
    g.push(
      svg('path', {
        class: 'history-line',
        'data-values': JSON.stringify(history.map((o) => o.value)),
        d: `M${history.map((o, i) => `${x(i).toFixed(2)},${y(o.value).toFixed(2)}`).join('L')}`,
      }),
      svg(
        'g',
        { class: 'history-points' },
        history.map((o, i) =>
          svg(
            'circle',
            { class: 'hist-point', cx: x(i), cy: y(o.value), r: 3, 'data-period': o.period, 'data-value': num(o.value) },
            svg('title', {}, `${o.period}: ${fmt(o.value)}`),
          ),
        ),
      ),
    );
  }
  // Mean path and points.
  if (points.length) {
    const path = [...(anchor ? [anchor] : []), ...points.map((p, i) => [x(first + i), y(p.mean)])];
    g.push(
      svg('path', {
        class: 'mean-line',
        'data-values': JSON.stringify(points.map((p) => p.mean)),
        d: `M${path.map(([a, b]) => `${a.toFixed(2)},${b.toFixed(2)}`).join('L')}`,
      }),
      svg(
        'g',
        { class: 'forecast-points' },
        points.map((p, i) =>
          svg(
            'circle',
            {
              class: 'fc-point',
              cx: x(first + i),
              cy: y(p.mean),
              r: 4.5,
              'data-period': p.period,
              'data-mean': num(p.mean),
              'data-growth': num(p.growth),
              'data-intervals': JSON.stringify(p.intervals.map((iv) => ({ level: iv.level, lower: iv.lower, upper: iv.upper }))),
            },
            svg(
              'title',
              {},
              `${p.period}: mean ${fmt(p.mean)}${p.intervals.map((iv) => `; ${iv.level}% ${fmt(iv.lower)} to ${fmt(iv.upper)}`).join('')}`,
            ),
          ),
        ),
      ),
    );
  }
  const span = (list) => (list.length ? `${list[0]} to ${list[list.length - 1]}` : 'none');
  return svg(
    'svg',
    {
      id,
      class: 'fan-chart',
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-labelledby': `${id}-title ${id}-desc`,
      preserveAspectRatio: 'xMidYMid meet',
    },
    svg('title', { id: `${id}-title` }, 'Fan chart of the forecast'),
    svg(
      'desc',
      { id: `${id}-desc` },
      `History ${span(history.map((o) => o.period))}; forecast ${span(points.map((p) => p.period))} with ${lv.map((l) => `${l}%`).join(' and ') || 'no'} intervals. The table below lists every number.`,
    ),
    g,
  );
}

/** Band k of `count` (0 = widest): palest first. */
function bandOpacity(k, count) {
  return 0.18 + (0.3 * k) / Math.max(1, count - 1);
}

function chartLegend(lv, scenarios, hasHistory) {
  const desc = [...lv].sort((a, b) => b - a);
  return el(
    'ul',
    { class: 'legend', 'aria-label': 'Chart legend' },
    hasHistory ? el('li', {}, el('span', { class: 'swatch swatch-history', 'aria-hidden': 'true' }), 'History (solid line)') : null,
    el('li', {}, el('span', { class: 'swatch swatch-mean', 'aria-hidden': 'true' }), 'Forecast mean (dashed line, dots)'),
    desc.map((l, k) =>
      el(
        'li',
        {},
        el('span', {
          class: 'swatch swatch-band',
          style: `opacity: ${bandOpacity(k, desc.length).toFixed(2)}`,
          'aria-hidden': 'true',
        }),
        `${l}% interval${k === 0 && desc.length > 1 ? ' (widest, palest)' : ''}`,
      ),
    ),
    scenarios.length ? el('li', {}, el('span', { class: 'swatch swatch-scenario', 'aria-hidden': 'true' }), 'Scenarios (dotted, named at their end)') : null,
  );
}

// -------------------------------------------------------------- backtest --

async function runBacktest(result) {
  const chosen = [...document.querySelectorAll('input[name="bt-model"]:checked')];
  if (!chosen.length) throw new FormError('models', 'choose at least one model');
  const request = {
    models: chosen.map((c) => ({ name: c.dataset.name, version: c.dataset.version })),
    ...source('bt'),
    horizon: whole('bt-horizon', 'horizon'),
    origins: whole('bt-origins', 'origins'),
    levels: levels('bt-levels', 'levels'),
  };
  const response = await call(state.api, 'Backtest', request);
  result.replaceChildren(...renderBacktest(response, request.origins));
  const ranked = rankScores(response.scores).scored;
  return ranked.length
    ? `Backtest ready: ${ranked.length} of ${response.scores.length} models scored; best by OWA: ${ranked[0].model?.name} (${fmt(ranked[0].owa, 3)}).`
    : 'Backtest ready: no model could be scored.';
}

function scored(s) {
  return !s.error && Number.isFinite(s.owa);
}

/** Scored models by OWA ascending (ties: sMAPE), then the unscored in request order. */
export function rankScores(scores) {
  const ok = scores.filter(scored).sort((a, b) => a.owa - b.owa || a.smape - b.smape);
  return { scored: ok, unscored: scores.filter((s) => !scored(s)) };
}

function renderBacktest(response, origins) {
  const { scored: ok, unscored } = rankScores(response.scores);
  const lv = [...new Set(response.scores.flatMap((s) => s.coverage.map((c) => c.level)))].sort((a, b) => a - b);
  const coverageAt = (s, level) => s.coverage.find((c) => c.level === level)?.coverage;
  const metricCells = (s) => [
    el('td', {}, fmt(s.smape)),
    el('td', {}, fmt(s.mase, 3)),
    el(
      'td',
      { class: 'owa' },
      fmt(s.owa, 3),
      s.model?.name !== 'naive2' && s.owa < 1 ? [' ', el('span', { class: 'beats', title: 'beats Naive2' }, '✓'), el('span', { class: 'visually-hidden' }, ' beats Naive2')] : null,
    ),
    lv.map((l) => el('td', {}, pct(coverageAt(s, l)))),
    el('td', {}, s.msis ? fmt(s.msis) : '—'),
  ];
  const rows = ok.map((s, k) =>
    el(
      'tr',
      { class: 'ranked', 'data-model': s.model?.name ?? '', 'data-rank': k + 1, 'data-owa': num(s.owa), 'data-smape': num(s.smape), 'data-mase': num(s.mase) },
      el('td', {}, String(k + 1)),
      el('th', { scope: 'row' }, s.model?.name ?? '?'),
      el('td', {}, s.model?.version ?? ''),
      metricCells(s),
    ),
  );
  for (const s of unscored) {
    rows.push(
      el(
        'tr',
        { class: 'unscored', 'data-model': s.model?.name ?? '' },
        el('td', {}, '—'),
        el('th', { scope: 'row' }, s.model?.name ?? '?'),
        el('td', {}, s.model?.version ?? ''),
        el('td', { colspan: 4 + lv.length }, `not scored: ${s.error || 'no finite OWA'}`),
      ),
    );
  }
  const foot = response.naive2
    ? el(
        'tfoot',
        {},
        el(
          'tr',
          { class: 'reference', 'data-model': 'naive2', 'data-owa': num(response.naive2.owa) },
          el('td', {}, 'ref.'),
          el('th', { scope: 'row' }, 'naive2'),
          el('td', {}, 'benchmark'),
          metricCells(response.naive2),
        ),
      )
    : null;
  return [
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { id: 'bt-table', class: 'numbers' },
        el(
          'caption',
          {},
          `${response.series_name || 'Series'} · ${origins || 1} origin${origins === 1 ? '' : 's'} · ranked by OWA against Naive2 (below 1 beats it; ✓ marks those that do)`,
        ),
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { scope: 'col' }, 'Rank'),
            el('th', { scope: 'col' }, 'Model'),
            el('th', { scope: 'col' }, 'Version'),
            el('th', { scope: 'col' }, 'sMAPE %'),
            el('th', { scope: 'col' }, 'MASE'),
            el('th', { scope: 'col' }, 'OWA'),
            lv.map((l) => el('th', { scope: 'col' }, `Coverage ${fmt(l, l % 1 ? 1 : 0)}%`)),
            el('th', { scope: 'col' }, 'MSIS'),
          ),
        ),
        el('tbody', {}, rows),
        foot,
      ),
    ),
    el(
      'p',
      { class: 'hint' },
      'sMAPE and MASE as in the M4 competition, averaged over origins; OWA is their mean ratio to Naive2 on the same origins; coverage is the share of actual values inside each interval; MSIS scores the 95% interval.',
    ),
  ];
}

// ------------------------------------------------------------------ risk --

function renderIndicators() {
  const option = $('rk-model').selectedOptions[0];
  const model = option && state.models.find((m) => m.name === option.dataset.name && m.version === option.dataset.version);
  const box = $('rk-indicators');
  if (!model) {
    box.replaceChildren(el('p', { class: 'hint' }, 'No risk model is loaded.'));
    return;
  }
  if (!model.inputs.length) {
    box.replaceChildren(el('p', { class: 'hint' }, `${model.name} declares no indicators.`));
    return;
  }
  box.replaceChildren(
    ...model.inputs.map((spec) => {
      const id = `rk-ind-${spec.name}`;
      const bounded = spec.min !== 0 || spec.max !== 0;
      return el(
        'div',
        { class: 'field indicator' },
        el('label', { for: id }, el('code', {}, spec.name)),
        el('input', {
          id,
          type: 'number',
          step: 'any',
          inputmode: 'decimal',
          'data-indicator': spec.name,
          value: num(spec.default_value),
          min: bounded ? num(spec.min) : null,
          max: bounded ? num(spec.max) : null,
          'aria-describedby': spec.description ? `${id}-hint` : null,
        }),
        spec.description
          ? el('span', { class: 'hint', id: `${id}-hint` }, spec.description, bounded ? ` Range ${num(spec.min)} to ${num(spec.max)}.` : '')
          : null,
      );
    }),
  );
}

async function runRisk(result) {
  const indicators = {};
  for (const input of $('rk-indicators').querySelectorAll('input[data-indicator]')) {
    const text = input.value.trim();
    if (text === '') continue;
    const n = Number(text);
    if (!Number.isFinite(n)) throw new FormError(`indicators[${input.dataset.indicator}]`, `'${text}' is not a number`);
    indicators[input.dataset.indicator] = n;
  }
  const request = { model: modelRef($('rk-model')), subject: $('rk-subject').value.trim(), indicators };
  const response = await call(state.api, 'ScoreRisk', request);
  result.replaceChildren(...renderRisk(response));
  return `Risk scored: ${fmt(response.score, 1)} out of 100, band ${bandName(response.band)}.`;
}

function bandName(band) {
  return enumName('RiskBand', band).replace(/^RISK_BAND_/, '');
}

function renderRisk(response) {
  const band = bandName(response.band);
  const factors = [...response.factors].sort((a, b) => b.contribution - a.contribution);
  return [
    el(
      'div',
      { class: 'scorecard', id: 'rk-scorecard' },
      el(
        'p',
        { class: 'score-line' },
        el('span', { class: 'score', id: 'rk-score', 'data-score': num(response.score) }, fmt(response.score, 1)),
        el('span', { class: 'out-of' }, ' / 100'),
        ' ',
        el('span', { class: `band band-${band.toLowerCase()}`, id: 'rk-band', 'data-band': band }, `Band: ${band}`),
      ),
      el(
        'p',
        { class: 'caption' },
        response.subject ? [el('strong', {}, response.subject), ' · '] : null,
        'scored by ',
        modelCaption(response.model ?? { name: '?' }),
      ),
    ),
    el('h3', { id: 'rk-factors-h' }, 'Contributions (points of the score, out of 100)'),
    el(
      'ol',
      { class: 'factors', 'aria-labelledby': 'rk-factors-h' },
      factors.map((f) =>
        el(
          'li',
          {
            class: 'factor',
            'data-indicator': f.indicator,
            'data-value': num(f.value),
            'data-contribution': num(f.contribution),
          },
          el('span', { class: 'factor-name' }, el('code', {}, f.indicator), ` = ${fmt(f.value, 2)}`),
          el(
            'span',
            { class: 'bar-track', 'aria-hidden': 'true' },
            el('span', { class: 'bar', style: `width: ${Math.max(0, Math.min(100, f.contribution)).toFixed(2)}%` }),
          ),
          el('span', { class: 'points' }, `${fmt(f.contribution, 1)} points`),
          f.explanation ? el('span', { class: 'explanation' }, f.explanation) : null,
        ),
      ),
    ),
    response.notes.length ? [el('h3', {}, 'Notes'), el('ul', { class: 'notes' }, response.notes.map((n) => el('li', {}, n)))] : null,
  ].flat().filter(Boolean);
}

// ------------------------------------------------------------------ start --

function showApiError(err) {
  const box = $('api-error');
  const api = state.api ?? 'the configured address';
  const parts = [];
  if (err instanceof GrpcError && err.network) {
    parts.push(
      el('p', {}, el('strong', {}, `Cannot reach the API at ${api}.`)),
      el(
        'p',
        {},
        'Check that stratus-server is running and was started with --console-listen, which turns on gRPC-Web and allows this page (CORS) on the API port. ',
        el('span', { class: 'hint' }, `(The browser said: ${err.detail || err.grpcMessage}. A server that does not allow this page's origin by CORS looks the same.)`),
      ),
    );
  } else if (err instanceof GrpcError) {
    parts.push(el('p', {}, el('strong', {}, `The API at ${api} answered ${err.codeName}`), err.grpcMessage ? `: ${err.grpcMessage}` : ''));
  } else {
    parts.push(el('p', {}, el('strong', {}, 'The console could not start: '), err && err.message ? err.message : String(err)));
  }
  box.replaceChildren(...parts);
  box.hidden = false;
  const tbody = $('models-table').querySelector('tbody');
  if (!tbody.querySelector('tr[data-model]')) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 5 }, 'Not loaded: the API could not be reached.')));
  }
  $('api-status').textContent = 'Not connected.';
  $('api-retry').hidden = false;
  $('models-table').setAttribute('aria-busy', 'false');
}

async function connect() {
  $('api-error').hidden = true;
  $('api-retry').hidden = true;
  $('api-status').textContent = `Connecting to the API at ${state.api}…`;
  try {
    const [models, datasets] = await Promise.all([call(state.api, 'ListModels'), call(state.api, 'ListDatasets')]);
    state.models = models.models;
    state.datasets = datasets.datasets;
    state.history.clear();
    renderModels();
    fillModelSelects();
    fillDatasetSelects();
    for (const id of ['fc-run', 'bt-run', 'rk-run']) $(id).disabled = false;
    $('api-status').textContent = `Connected to ${state.api}: ${state.models.length} models, ${state.datasets.length} datasets.`;
    document.body.dataset.ready = 'true';
  } catch (err) {
    showApiError(err);
    document.body.dataset.ready = 'error';
  }
}

async function loadConfig() {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  const config = await response.json();
  if (!config || typeof config.api !== 'string' || !/^https?:\/\//.test(config.api)) {
    throw new Error('config.json has no "api" URL (expected {"api": "http://host:port"})');
  }
  return config.api.replace(/\/+$/, '');
}

async function start() {
  for (const id of ['fc-run', 'bt-run', 'rk-run']) $(id).disabled = true;
  wireSourceToggles();
  $('forecast-form').addEventListener('submit', (e) => {
    e.preventDefault();
    running('fc', 'Running the forecast…', runForecast);
  });
  $('backtest-form').addEventListener('submit', (e) => {
    e.preventDefault();
    running('bt', 'Running the backtest…', runBacktest);
  });
  $('risk-form').addEventListener('submit', (e) => {
    e.preventDefault();
    running('rk', 'Scoring…', runRisk);
  });
  $('rk-model').addEventListener('change', renderIndicators);
  $('api-retry').addEventListener('click', connect);
  try {
    state.api = await loadConfig();
  } catch (err) {
    showApiError(err);
    $('api-retry').hidden = true;
    document.body.dataset.ready = 'error';
    return;
  }
  $('api-url').textContent = state.api;
  await connect();
}

if (typeof document !== 'undefined') start();
