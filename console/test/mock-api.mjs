// A stand-in for stratus-server's two console-facing ports, for developing
// and testing the page without the Rust server:
//
//   - the console port: console/static/ and /config.json ({"api": URL});
//   - the API port: gRPC-Web (binary) for the unary RPCs the console calls,
//     with CORS as the real server must answer it (preflight included).
//
// Its answers are made up but shaped like the real ones (naive is a random
// walk with drift on data/datasets/*.csv; the backtest and risk scores are
// canned). Errors come as trailers-only answers with grpc-status-details-bin
// (google.rpc.Status + BadRequest), as tonic sends them.
//
//   node console/test/mock-api.mjs --serve   # prints both URLs; Ctrl-C stops it

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decode, encode, frame, parseFrames, rpcs, statusNames } from '../static/proto.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const STATIC_DIR = join(HERE, '..', 'static');
const DATA_DIR = join(HERE, '..', '..', 'data', 'datasets');

// The CORS the page needs from the API (the real server must allow at least this).
export const CORS_ALLOW_HEADERS = ['content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout'];
export const CORS_EXPOSE_HEADERS = ['grpc-status', 'grpc-message', 'grpc-status-details-bin'];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

function listen(server, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(`http://${host}:${server.address().port}`));
  });
}

/**
 * Serves console/static/ and /config.json = {"api": api}. Resolves to
 * {url, close()}. `requests` records every path asked for.
 */
/** The Content-Security-Policy the page is tested under (the real server may send it too). */
export function contentSecurityPolicy(api) {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${api}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function serveConsole(api) {
  const requests = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ api }));
      return;
    }
    const file = normalize(join(STATIC_DIR, path === '/' ? 'index.html' : path));
    if (!file.startsWith(STATIC_DIR) || !existsSync(file) || !MIME[extname(file)]) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, {
        'content-type': MIME[extname(file)],
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
        ...(extname(file) === '.html' ? { 'content-security-policy': contentSecurityPolicy(api) } : {}),
      })
      .end(readFileSync(file));
  });
  const url = await listen(server);
  return { url, requests, close: () => new Promise((r) => server.close(r)) };
}

// ------------------------------------------------------------ mock data ---

const sha = (seed) => seed.repeat(64 / seed.length).slice(0, 64);

const MODELS = [
  model('naive', 1, sha('4298e849dffa'), 'Random walk with drift.'),
  model('canalys', 1, sha('f4248a93be4e'), 'Damped trend on logs.'),
  model('auto', 1, sha('0a1b2c3d4e5f'), 'The recommended combination.'),
  model('bubble', 2, sha('c2cd7eaf825d'), 'Over-investment risk scorecard.', [
    ['capex_growth_pct', 'Capex growth, % a year.', 10, -100, 10000],
    ['revenue_growth_pct', 'Revenue growth, % a year.', 10, -100, 10000],
    ['utilization_pct', 'Share of capacity in use, %.', 80, 0, 100],
    ['capex_to_revenue', 'Capex over revenue.', 0.2, 0, 100],
    ['unit_price_change_pct', 'Unit price change, % a year.', 0, -100, 1000],
  ]),
  { name: 'libbroken.so', state: 2, last_error: 'symbol stratus_plugin_v1 not found' },
];

function model(name, kind, sha256, description, inputs = []) {
  return {
    name,
    version: '1.0.0',
    kind,
    description,
    sha256,
    abi_version: '1.0',
    state: 1,
    isolation: 1,
    library_path: `/plugins/lib${name}.so`,
    inputs: inputs.map(([n, d, def, min, max]) => ({ name: n, description: d, default_value: def, min, max })),
  };
}

function readDatasets() {
  const out = new Map();
  if (!existsSync(DATA_DIR)) return out;
  for (const file of readdirSync(DATA_DIR).filter((f) => f.endsWith('.csv')).sort()) {
    const name = file.replace(/\.csv$/, '');
    const lines = readFileSync(join(DATA_DIR, file), 'utf8').split(/\r?\n/);
    const unit = lines.find((l) => l.startsWith('# unit:'))?.slice(7).trim() ?? '';
    const rows = lines.filter((l) => l && !l.startsWith('#') && !l.startsWith('period'));
    const observations = rows.map((l) => {
      const [period, value] = l.split(',');
      return { period, value: Number(value) };
    });
    const frequency = observations[0].period.includes('-Q') ? 2 : observations[0].period.length === 7 ? 3 : 1;
    out.set(name, { name, unit, frequency, observations });
  }
  return out;
}

// Acklam's inverse normal CDF (relative error < 1.2e-9).
function normalQuantile(p) {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628274631];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

function nextPeriod(period, frequency, k) {
  if (frequency === 1) return String(Number(period) + k);
  const [y, rest] = period.split('-');
  const per = frequency === 2 ? 4 : 12;
  const idx = Number(y) * per + (frequency === 2 ? Number(rest.slice(1)) - 1 : Number(rest) - 1) + k;
  const year = Math.floor(idx / per);
  const sub = (idx % per) + 1;
  return frequency === 2 ? `${year}-Q${sub}` : `${year}-${String(sub).padStart(2, '0')}`;
}

class RpcError extends Error {
  constructor(code, message, violations = []) {
    super(message);
    this.code = code;
    this.violations = violations;
  }
}

function invalid(violations) {
  return new RpcError(3, violations.map((v) => `${v.field}: ${v.description}`).join('; '), violations);
}

function checkLevels(levels, violations) {
  const lv = levels.length ? levels : [80, 95];
  lv.forEach((l, i) => {
    if (!(l > 0 && l < 100)) violations.push({ field: `levels[${i}]`, description: 'must be in (0, 100)' });
  });
  return lv;
}

function seriesOf(req, datasets, violations) {
  if (req.series) {
    if (req.series.frequency === 0) violations.push({ field: 'series.frequency', description: 'must be set' });
    if (req.series.observations.length < 3) violations.push({ field: 'series.observations', description: 'needs at least 3 observations' });
    return req.series;
  }
  if (req.dataset === undefined) {
    violations.push({ field: 'source', description: 'set series or dataset' });
    return null;
  }
  const s = datasets.get(req.dataset);
  if (!s) throw new RpcError(5, `dataset '${req.dataset}' not found`);
  return s;
}

function findModel(ref, kind) {
  const m = MODELS.find((x) => x.name === ref?.name && (!ref.version || x.version === ref.version) && x.state === 1);
  if (!m) throw new RpcError(5, `model '${ref?.name ?? ''}' not found`);
  if (m.kind !== kind) throw new RpcError(9, `model '${m.name}' is not a ${kind === 1 ? 'forecast' : 'risk'} model`);
  return m;
}

function forecast(req, datasets) {
  const violations = [];
  const m = findModel(req.model, 1);
  const series = seriesOf(req, datasets, violations);
  if (req.horizon < 1) violations.push({ field: 'horizon', description: 'must be at least 1' });
  if (req.horizon > 100) violations.push({ field: 'horizon', description: 'must be at most 100' });
  const levels = checkLevels(req.levels, violations);
  if (violations.length) throw invalid(violations);
  const ys = series.observations.map((o) => o.value);
  const n = ys.length;
  const diffs = ys.slice(1).map((v, i) => v - ys[i]);
  const drift = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  const sigma = Math.sqrt(diffs.reduce((a, d) => a + (d - drift) ** 2, 0) / Math.max(1, diffs.length - 1));
  // Model tweaks so the models differ.
  const damp = m.name === 'canalys' ? 0.9 : 1;
  const last = ys[n - 1];
  const period0 = series.observations[n - 1].period;
  const points = [];
  let mean = last;
  for (let h = 1; h <= req.horizon; h++) {
    const prev = mean;
    mean = mean + drift * damp ** h;
    const sd = sigma * Math.sqrt(h) * (req.interval_method === 2 ? 1.1 : 1);
    points.push({
      period: nextPeriod(period0, series.frequency, h),
      mean,
      growth: h === 1 ? ((mean - last) / last) * 100 : ((mean - prev) / prev) * 100,
      intervals: levels.map((level) => {
        const z = normalQuantile(0.5 + level / 200);
        return { level, lower: mean - z * sd, upper: mean + z * sd };
      }),
    });
  }
  return {
    model: m,
    series_name: series.name,
    points,
    scenarios: [],
    fitted: { drift, sigma },
    notes: [`Mock ${m.name}: random walk with drift (${drift.toFixed(4)}).`],
    request_id: req.request_id,
  };
}

const CANNED_SCORES = {
  naive: { smape: 14.02, mase: 0.873, owa: 1.67, cov: [0.9375, 1], msis: 4.37 },
  canalys: { smape: 6.05, mase: 0.396, owa: 0.739, cov: [0.75, 0.9375], msis: 2.64 },
  auto: { smape: 7.93, mase: 0.548, owa: 0.996, cov: [0.5625, 0.75], msis: 2.96 },
};

function backtest(req, datasets) {
  const violations = [];
  if (!req.models.length) violations.push({ field: 'models', description: 'name at least one model' });
  const series = seriesOf(req, datasets, violations);
  if (req.horizon < 1) violations.push({ field: 'horizon', description: 'must be at least 1' });
  const levels = checkLevels(req.levels, violations);
  if (violations.length) throw invalid(violations);
  const origins = req.origins || 1;
  const nan = Number.NaN;
  const scores = req.models.map((ref) => {
    const m = findModel(ref, 1);
    const s = CANNED_SCORES[m.name];
    if (!s) return { model: m, smape: nan, mase: nan, owa: nan, msis: nan, error: `${m.name} cannot be scored here` };
    return {
      model: m,
      smape: s.smape,
      mase: s.mase,
      owa: s.owa,
      coverage: levels.map((level, i) => ({ level, coverage: s.cov[i] ?? 1 })),
      msis: s.msis,
      origins: Array.from({ length: origins }, (_, j) => ({ train_size: series.observations.length - req.horizon - (origins - 1 - j), smape: s.smape, mase: s.mase })),
    };
  });
  return {
    series_name: series.name,
    scores,
    request_id: req.request_id,
    naive2: { model: { name: 'naive2' }, smape: 8.16, mase: 0.538, owa: 1 },
  };
}

function scoreRisk(req) {
  const m = findModel(req.model, 2);
  const violations = [];
  const specs = new Map(m.inputs.map((i) => [i.name, i]));
  for (const [name, value] of Object.entries(req.indicators)) {
    const spec = specs.get(name);
    if (!spec) violations.push({ field: `indicators[${name}]`, description: 'unknown indicator' });
    else if (value < spec.min || value > spec.max) {
      violations.push({ field: `indicators[${name}]`, description: `${value} is outside the physical range [${spec.min}, ${spec.max}]` });
    }
  }
  if (Object.keys(req.indicators).length < 3) violations.push({ field: 'indicators', description: 'bubble needs at least 3 indicators' });
  if (violations.length) throw invalid(violations);
  const factors = Object.entries(req.indicators).map(([name, value]) => {
    const spec = specs.get(name);
    const sub = Math.min(1, Math.abs(value - spec.default_value) / (Math.abs(spec.default_value) + 50));
    return { indicator: name, value, contribution: (sub * 100) / m.inputs.length, explanation: `${name} is ${value} (calm: ${spec.default_value}).` };
  });
  const score = factors.reduce((a, f) => a + f.contribution, 0);
  return {
    model: m,
    subject: req.subject,
    score,
    band: score < 25 ? 1 : score < 50 ? 2 : score < 75 ? 3 : 4,
    factors,
    notes: ['Mock scorecard.'],
  };
}

// ------------------------------------------------------------- the API ---

/**
 * Starts the mock API. Resolves to {url, calls, preflights, close()};
 * `calls` records {method, headers} per call, `preflights` each CORS
 * preflight's {path, origin, method, headers}. With {cors: false} it answers without CORS
 * headers (as a server without --console-listen would).
 */
export async function startMockApi({ cors = true } = {}) {
  const datasets = readDatasets();
  const calls = [];
  const preflights = [];
  const handlers = {
    ListModels: () => ({ models: MODELS }),
    ListDatasets: () => ({
      datasets: [...datasets.values()].map((s) => ({
        name: s.name,
        description: s.name,
        origin: 'builtin',
        series: { name: s.name, unit: s.unit, frequency: s.frequency, observations: [] },
        observation_count: s.observations.length,
        first_period: s.observations[0].period,
        last_period: s.observations[s.observations.length - 1].period,
      })),
    }),
    GetDataset: (req) => {
      const s = datasets.get(req.name);
      if (!s) throw new RpcError(5, `dataset '${req.name}' not found`);
      return { name: s.name, origin: 'builtin', series: s, observation_count: s.observations.length };
    },
    Forecast: (req) => forecast(req, datasets),
    Backtest: (req) => backtest(req, datasets),
    ScoreRisk: (req) => scoreRisk(req),
  };

  const server = createServer((req, res) => {
    const origin = req.headers.origin;
    const corsHeaders = cors && origin ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
    if (req.method === 'OPTIONS') {
      preflights.push({ path: req.url, origin, method: req.headers['access-control-request-method'], headers: req.headers['access-control-request-headers'] ?? '' });
      const asked = (req.headers['access-control-request-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
      const refused = asked.filter((h) => !CORS_ALLOW_HEADERS.includes(h));
      if (!cors || refused.length) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end(`headers not allowed: ${refused.join(', ')}`);
        return;
      }
      res
        .writeHead(204, {
          ...corsHeaders,
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
          'access-control-max-age': '600',
        })
        .end();
      return;
    }
    const [, service, method] = new URL(req.url, 'http://x').pathname.split('/');
    const spec = rpcs[method];
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const headers = {
        ...corsHeaders,
        ...(cors ? { 'access-control-expose-headers': CORS_EXPOSE_HEADERS.join(',') } : {}),
        'content-type': 'application/grpc-web+proto',
      };
      const fail = (code, message, violations = []) => {
        const details = violations.length
          ? encode('Status', {
              code,
              message,
              details: [{ type_url: 'type.googleapis.com/google.rpc.BadRequest', value: encode('BadRequest', { field_violations: violations }) }],
            })
          : null;
        res
          .writeHead(200, {
            ...headers,
            'grpc-status': String(code),
            'grpc-message': encodeURIComponent(message),
            ...(details ? { 'grpc-status-details-bin': Buffer.from(details).toString('base64').replace(/=+$/, '') } : {}),
          })
          .end();
      };
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/grpc-web+proto' || req.headers['x-grpc-web'] !== '1') {
        res.writeHead(415, { 'content-type': 'text/plain' }).end('gRPC-Web (binary) only');
        return;
      }
      calls.push({ method, headers: req.headers });
      if (!spec || spec[0] !== service || !handlers[method]) {
        fail(12, `unknown method ${service}/${method}`);
        return;
      }
      try {
        const { messages } = parseFrames(new Uint8Array(Buffer.concat(chunks)));
        const request = decode(spec[1], messages[0] ?? new Uint8Array(0));
        const response = handlers[method](request);
        const trailer = Buffer.from('grpc-status:0\r\ngrpc-message:\r\n');
        const tf = Buffer.alloc(5);
        tf[0] = 0x80;
        tf.writeUInt32BE(trailer.length, 1);
        res.writeHead(200, headers).end(Buffer.concat([frame(encode(spec[2], response)), tf, trailer]));
      } catch (e) {
        if (e instanceof RpcError) fail(e.code, e.message, e.violations);
        else fail(13, `mock: ${e.message}`);
      }
    });
  });
  const url = await listen(server);
  return { url, calls, preflights, close: () => new Promise((r) => server.close(r)) };
}

/** A URL on which nothing listens (a port just freed). */
export async function deadUrl() {
  const server = createServer();
  const url = await listen(server);
  await new Promise((r) => server.close(r));
  return url;
}

export { statusNames };

// `node --test console/test/` runs every .mjs file in a folder named test,
// this one too: it serves only when asked to.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--serve')) {
  const api = await startMockApi();
  const site = await serveConsole(api.url);
  console.log(`mock API:  ${api.url}`);
  console.log(`console:   ${site.url}/`);
}
