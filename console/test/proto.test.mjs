// Unit tests of the console's protobuf codec and gRPC-Web framing
// (console/static/proto.js) against bytes made by the reference protobuf
// implementation (console/test/golden.json, from make_golden.py).
//
//   node --test console/test/proto.test.mjs

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  call,
  decode,
  decodeStatusDetails,
  DecodeError,
  encode,
  enumName,
  enumValue,
  frame,
  GrpcError,
  parseFrames,
  requestHeaders,
} from '../static/proto.js';

const golden = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8'));

const hex = (u8) => Buffer.from(u8).toString('hex');
const bytes = (h) => Uint8Array.from(Buffer.from(h, 'hex'));

// golden.json's stand-ins for what JSON cannot hold, made real.
function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    if ('$double' in v) return { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 }[v.$double];
    if ('$bytes' in v) return bytes(v.$bytes);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

test('golden.json has cases', () => {
  assert.ok(golden.cases.length >= 15);
});

for (const c of golden.cases) {
  if (c.encode !== false) {
    test(`encode ${c.name}: same bytes as the reference`, () => {
      assert.equal(hex(encode(c.type, revive(c.value))), c.hex);
    });
  }
  test(`decode ${c.name}: same fields as the reference`, () => {
    // deepStrictEqual compares numbers with Object.is: NaN equals NaN, -0 is not 0.
    assert.deepStrictEqual(decode(c.type, bytes(c.hex)), revive(c.decoded));
  });
}

test('decode accepts an ArrayBuffer and a Uint8Array view into a larger buffer', () => {
  const c = golden.cases.find((x) => x.type === 'ForecastResponse');
  const inner = bytes(c.hex);
  const padded = new Uint8Array(inner.length + 10);
  padded.set(inner, 7);
  const view = padded.subarray(7, 7 + inner.length);
  assert.deepStrictEqual(decode(c.type, view), revive(c.decoded));
  assert.deepStrictEqual(decode(c.type, inner.buffer.slice(0)), revive(c.decoded));
});

test('decode rejects malformed input', () => {
  const c = golden.cases.find((x) => x.type === 'ForecastResponse');
  const full = bytes(c.hex);
  assert.throws(() => decode('ForecastResponse', full.subarray(0, full.length - 3)), DecodeError);
  // A length running past the end.
  assert.throws(() => decode('ModelRef', Uint8Array.of(0x0a, 0x05, 0x61)), DecodeError);
  // A truncated fixed64.
  assert.throws(() => decode('Interval', Uint8Array.of(0x09, 1, 2, 3)), DecodeError);
  // Group wire types (3, 4) are not supported.
  assert.throws(() => decode('ModelRef', Uint8Array.of(0x1b)), DecodeError);
  // A varint of 11 bytes.
  assert.throws(() => decode('ModelRef', Uint8Array.of(0x20, ...Array(10).fill(0xff), 0x01)), DecodeError);
});

test('a field with the wrong wire type is skipped as unknown', () => {
  // name (field 1, string) sent as a varint, then version as it should be.
  const b = Uint8Array.of(0x08, 0x07, 0x12, 0x01, 0x76);
  assert.deepStrictEqual(decode('ModelRef', b), { name: '', version: 'v' });
});

test('encode refuses values a field cannot hold', () => {
  assert.throws(() => encode('ForecastRequest', { horizon: -1 }), RangeError);
  assert.throws(() => encode('ForecastRequest', { horizon: 1.5 }), TypeError);
  assert.throws(() => encode('ForecastRequest', { levels: 80 }), TypeError);
  assert.throws(() => encode('NoSuchMessage', {}), Error);
});

test('enum names', () => {
  assert.equal(enumValue('ModelKind', 'MODEL_KIND_RISK'), 2);
  assert.equal(enumName('RiskBand', 4), 'RISK_BAND_SEVERE');
  assert.equal(enumName('RiskBand', 9), '9');
});

test('status details: BadRequest, ErrorInfo and RetryInfo from grpc-status-details-bin', () => {
  const d = golden.status_details;
  for (const text of [d.base64, d.base64_unpadded]) {
    const got = decodeStatusDetails(text);
    assert.equal(got.code, d.code);
    assert.equal(got.message, d.message);
    assert.deepStrictEqual(
      got.fieldViolations.map((v) => ({ field: v.field, description: v.description })),
      d.field_violations,
    );
    assert.deepStrictEqual(got.errorInfo, d.error_info);
    assert.equal(got.retryDelay, d.retry_delay);
  }
  assert.equal(decodeStatusDetails('not base64 at all!'), null);
});

// ------------------------------------------------------------- gRPC-Web ----

function trailerFrame(text) {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(5 + payload.length);
  out[0] = 0x80;
  new DataView(out.buffer).setUint32(1, payload.length, false);
  out.set(payload, 5);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('frame: flag 0, big-endian length, bytes', () => {
  assert.equal(hex(frame(Uint8Array.of(1, 2, 3))), '0000000003010203');
  assert.equal(hex(frame(new Uint8Array(0))), '0000000000');
  const big = frame(new Uint8Array(70000));
  assert.equal(hex(big.subarray(0, 5)), '0000011170');
});

test('parseFrames: data frames and the trailer frame', () => {
  const body = concat(
    frame(Uint8Array.of(0x0a, 0x01, 0x61)),
    trailerFrame('grpc-status: 0\r\nGrpc-Message: all%20good\r\nx-extra:  v \r\n'),
  );
  const { messages, trailers } = parseFrames(body);
  assert.equal(messages.length, 1);
  assert.equal(hex(messages[0]), '0a0161');
  assert.deepStrictEqual(trailers, { 'grpc-status': '0', 'grpc-message': 'all%20good', 'x-extra': 'v' });
  assert.throws(() => parseFrames(Uint8Array.of(0, 0, 0)), DecodeError);
  assert.throws(() => parseFrames(Uint8Array.of(0, 0, 0, 0, 9, 1)), DecodeError);
  assert.throws(() => parseFrames(Uint8Array.of(1, 0, 0, 0, 0)), DecodeError);
});

// A fetch that records the request and answers with `answer`.
function fakeFetch(answer) {
  const seen = [];
  const fn = async (url, init) => {
    seen.push({ url, init });
    if (answer instanceof Error) throw answer;
    const { status = 200, headers = {}, body = new Uint8Array(0) } = answer;
    return new Response(body, { status, headers });
  };
  fn.seen = seen;
  return fn;
}

const GRPC_WEB = { 'content-type': 'application/grpc-web+proto' };

test('call: request framing, URL, headers; response frame and trailers', async () => {
  const c = golden.cases.find((x) => x.type === 'ForecastResponse' && x.encode !== false);
  const fetch = fakeFetch({
    headers: GRPC_WEB,
    body: concat(frame(bytes(c.hex)), trailerFrame('grpc-status:0\r\ngrpc-message:\r\n')),
  });
  const request = { model: { name: 'naive' }, dataset: 'china-cloud-infra-annual', horizon: 3, levels: [80, 95], interval_method: 1 };
  const got = await call('http://127.0.0.1:50051/', 'Forecast', request, { fetch });
  assert.deepStrictEqual(got, revive(c.decoded));
  const [{ url, init }] = fetch.seen;
  assert.equal(url, 'http://127.0.0.1:50051/stratus.v1.ForecastService/Forecast');
  assert.equal(init.method, 'POST');
  assert.deepStrictEqual(init.headers, requestHeaders);
  assert.equal(init.headers['content-type'], 'application/grpc-web+proto');
  assert.equal(init.headers['x-grpc-web'], '1');
  const req = golden.cases.find((x) => x.name.startsWith('ForecastRequest: dataset'));
  assert.equal(hex(init.body), hex(frame(bytes(req.hex))));
});

test('call: error status in the trailer frame, with percent-encoded message and details', async () => {
  const d = golden.status_details;
  const fetch = fakeFetch({
    headers: GRPC_WEB,
    body: trailerFrame(
      `grpc-status: 3\r\ngrpc-message: horizon%3A must be at least 1\r\ngrpc-status-details-bin: ${d.base64_unpadded}\r\n`,
    ),
  });
  const e = await call('http://api', 'Forecast', { horizon: 0 }, { fetch }).catch((x) => x);
  assert.ok(e instanceof GrpcError);
  assert.equal(e.code, 3);
  assert.equal(e.codeName, 'INVALID_ARGUMENT');
  assert.equal(e.grpcMessage, 'horizon: must be at least 1');
  assert.equal(e.message, 'INVALID_ARGUMENT: horizon: must be at least 1');
  assert.deepStrictEqual(
    e.fieldViolations.map((v) => v.field),
    d.field_violations.map((v) => v.field),
  );
});

test('call: trailers-only error (status in the response headers, empty body)', async () => {
  const d = golden.status_details;
  const fetch = fakeFetch({
    headers: { ...GRPC_WEB, 'grpc-status': '5', 'grpc-message': 'model%20nope%20not%20found', 'grpc-status-details-bin': d.base64 },
  });
  const e = await call('http://api', 'Forecast', {}, { fetch }).catch((x) => x);
  assert.equal(e.codeName, 'NOT_FOUND');
  assert.equal(e.grpcMessage, 'model nope not found');
  assert.equal(e.fieldViolations.length, 2);
  assert.equal(e.errorInfo.reason, 'MODEL_PROCESS_DIED');
});

test('call: the trailer frame wins over headers', async () => {
  const fetch = fakeFetch({
    headers: { ...GRPC_WEB, 'grpc-status': '0' },
    body: trailerFrame('grpc-status: 13\r\ngrpc-message: boom\r\n'),
  });
  const e = await call('http://api', 'ListModels', {}, { fetch }).catch((x) => x);
  assert.equal(e.codeName, 'INTERNAL');
  assert.equal(e.grpcMessage, 'boom');
});

test('call: unreachable API is UNAVAILABLE, flagged as a network failure', async () => {
  const e = await call('http://127.0.0.1:1', 'ListModels', {}, { fetch: fakeFetch(new TypeError('Failed to fetch')) }).catch(
    (x) => x,
  );
  assert.equal(e.codeName, 'UNAVAILABLE');
  assert.equal(e.network, true);
  assert.match(e.message, /cannot reach the API at http:\/\/127\.0\.0\.1:1/);
});

test('call: a real refused connection (Node fetch) is UNAVAILABLE', async () => {
  const e = await call('http://127.0.0.1:9', 'ListModels', {}, { timeoutMs: 5000 }).catch((x) => x);
  assert.ok(e instanceof GrpcError);
  assert.ok(e.codeName === 'UNAVAILABLE' || e.codeName === 'DEADLINE_EXCEEDED', e.message);
});

test('call: a non-gRPC answer maps its HTTP status', async () => {
  const e = await call('http://api', 'ListModels', {}, {
    fetch: fakeFetch({ status: 404, headers: { 'content-type': 'text/html' }, body: new TextEncoder().encode('<h1>no</h1>') }),
  }).catch((x) => x);
  assert.equal(e.codeName, 'UNIMPLEMENTED');
  assert.match(e.message, /HTTP 404/);
  const e2 = await call('http://api', 'ListModels', {}, {
    fetch: fakeFetch({ status: 503, headers: { 'content-type': 'text/plain' } }),
  }).catch((x) => x);
  assert.equal(e2.codeName, 'UNAVAILABLE');
});

test('call: no grpc-status anywhere is INTERNAL (hint: CORS must expose it)', async () => {
  const e = await call('http://api', 'ListModels', {}, {
    fetch: fakeFetch({ headers: GRPC_WEB, body: frame(new Uint8Array(0)) }),
  }).catch((x) => x);
  assert.equal(e.codeName, 'INTERNAL');
  assert.match(e.message, /expose grpc-status/);
});

test('call: an OK status with no message, or a malformed one, is INTERNAL', async () => {
  const ok = trailerFrame('grpc-status: 0\r\n');
  const e = await call('http://api', 'ListModels', {}, { fetch: fakeFetch({ headers: GRPC_WEB, body: ok }) }).catch((x) => x);
  assert.equal(e.codeName, 'INTERNAL');
  const bad = concat(frame(Uint8Array.of(0x0a, 0x05, 0x61)), ok);
  const e2 = await call('http://api', 'ListModels', {}, { fetch: fakeFetch({ headers: GRPC_WEB, body: bad }) }).catch((x) => x);
  assert.equal(e2.codeName, 'INTERNAL');
  assert.match(e2.message, /cannot decode ListModelsResponse/);
});

test('call: an empty response message decodes to defaults', async () => {
  const body = concat(frame(new Uint8Array(0)), trailerFrame('grpc-status: 0\r\n'));
  const got = await call('http://api', 'ListModels', {}, { fetch: fakeFetch({ headers: GRPC_WEB, body }) });
  assert.deepStrictEqual(got, { models: [] });
});
