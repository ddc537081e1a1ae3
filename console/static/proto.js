// Stratus console: a small, dependency-free protobuf codec for the messages in
// proto/stratus/v1/*.proto, and the gRPC-Web (binary) framing the console
// speaks to the API. Works in browsers and in Node.js (>= 18) alike.
//
// Messages are plain objects keyed by the .proto field names (snake_case).
// Decoding fills proto3 defaults: 0, "", false, empty bytes, [] for repeated
// fields, {} for maps, null for unset message fields; a oneof member that was
// not sent is left undefined. Enums are numbers (see `enums` for the names);
// int64/uint64 are Numbers (exact up to 2^53). Unknown fields are skipped.
// Encoding follows proto3: scalars equal to their default are not written
// (except oneof members), repeated numeric fields are packed and map entries
// are written in the UTF-8 byte order of their keys (the order of protobuf's
// deterministic serialization).

// ---------------------------------------------------------------- schemas --

// A field: [number, name, type, flag]. `type` is a scalar type name, a message
// name (a key of `schemas`), "enum:Name", or {map: [keyType, valueType]}.
// `flag` is "repeated", "oneof" (written even when default) or absent.
const Observation = [[1, 'period', 'string'], [2, 'value', 'double']];
const Series = [
  [1, 'name', 'string'],
  [2, 'unit', 'string'],
  [3, 'frequency', 'enum:Frequency'],
  [4, 'observations', 'Observation', 'repeated'],
];
const ParamSpec = [
  [1, 'name', 'string'],
  [2, 'description', 'string'],
  [3, 'default_value', 'double'],
  [4, 'min', 'double'],
  [5, 'max', 'double'],
];
const ModelInfo = [
  [1, 'name', 'string'],
  [2, 'version', 'string'],
  [3, 'kind', 'enum:ModelKind'],
  [4, 'description', 'string'],
  [5, 'params', 'ParamSpec', 'repeated'],
  [6, 'inputs', 'ParamSpec', 'repeated'],
  [7, 'library_path', 'string'],
  [8, 'sha256', 'string'],
  [9, 'abi_version', 'string'],
  [10, 'state', 'enum:ModelState'],
  [11, 'loaded_at', 'Timestamp'],
  [12, 'last_error', 'string'],
  [13, 'isolation', 'enum:Isolation'],
  [14, 'host_pid', 'uint32'],
  [15, 'restarts', 'uint32'],
];
const ForecastPoint = [
  [1, 'period', 'string'],
  [2, 'mean', 'double'],
  [3, 'growth', 'double'],
  [4, 'intervals', 'Interval', 'repeated'],
];
const ForecastRequest = [
  [1, 'model', 'ModelRef'],
  [2, 'series', 'Series', 'oneof'],
  [3, 'dataset', 'string', 'oneof'],
  [4, 'horizon', 'uint32'],
  [5, 'levels', 'double', 'repeated'],
  [6, 'params', { map: ['string', 'double'] }],
  [7, 'request_id', 'string'],
  [8, 'interval_method', 'enum:IntervalMethod'],
  [9, 'ensemble', 'Ensemble'],
];

export const schemas = {
  // google/protobuf
  Timestamp: [[1, 'seconds', 'int64'], [2, 'nanos', 'int32']],
  Duration: [[1, 'seconds', 'int64'], [2, 'nanos', 'int32']],
  Any: [[1, 'type_url', 'string'], [2, 'value', 'bytes']],
  // google/rpc
  Status: [[1, 'code', 'int32'], [2, 'message', 'string'], [3, 'details', 'Any', 'repeated']],
  BadRequest: [[1, 'field_violations', 'FieldViolation', 'repeated']],
  FieldViolation: [
    [1, 'field', 'string'],
    [2, 'description', 'string'],
    [3, 'reason', 'string'],
  ],
  ErrorInfo: [
    [1, 'reason', 'string'],
    [2, 'domain', 'string'],
    [3, 'metadata', { map: ['string', 'string'] }],
  ],
  RetryInfo: [[1, 'retry_delay', 'Duration']],
  // stratus/v1/series.proto
  Observation,
  Series,
  // stratus/v1/model.proto
  ModelRef: [[1, 'name', 'string'], [2, 'version', 'string']],
  ParamSpec,
  ModelInfo,
  ListModelsRequest: [],
  ListModelsResponse: [[1, 'models', 'ModelInfo', 'repeated']],
  GetModelRequest: [[1, 'model', 'ModelRef']],
  // stratus/v1/dataset.proto
  Dataset: [
    [1, 'name', 'string'],
    [2, 'description', 'string'],
    [3, 'source', 'string'],
    [4, 'origin', 'string'],
    [5, 'series', 'Series'],
    [6, 'observation_count', 'uint32'],
    [7, 'first_period', 'string'],
    [8, 'last_period', 'string'],
  ],
  ListDatasetsRequest: [],
  ListDatasetsResponse: [[1, 'datasets', 'Dataset', 'repeated']],
  GetDatasetRequest: [[1, 'name', 'string']],
  // stratus/v1/forecast.proto
  ForecastRequest,
  Ensemble: [
    [1, 'members', 'ModelRef', 'repeated'],
    [2, 'combination', 'enum:Combination'],
  ],
  EnsembleMember: [[1, 'model', 'ModelInfo'], [2, 'weight', 'double']],
  Interval: [[1, 'level', 'double'], [2, 'lower', 'double'], [3, 'upper', 'double']],
  ForecastPoint,
  Scenario: [[1, 'name', 'string'], [2, 'points', 'ForecastPoint', 'repeated']],
  ForecastResponse: [
    [1, 'model', 'ModelInfo'],
    [2, 'series_name', 'string'],
    [3, 'points', 'ForecastPoint', 'repeated'],
    [4, 'scenarios', 'Scenario', 'repeated'],
    [5, 'fitted', { map: ['string', 'double'] }],
    [6, 'notes', 'string', 'repeated'],
    [7, 'request_id', 'string'],
    [8, 'members', 'EnsembleMember', 'repeated'],
  ],
  // stratus/v1/evaluation.proto
  BacktestRequest: [
    [1, 'models', 'ModelRef', 'repeated'],
    [2, 'series', 'Series', 'oneof'],
    [3, 'dataset', 'string', 'oneof'],
    [4, 'horizon', 'uint32'],
    [5, 'origins', 'uint32'],
    [6, 'step', 'uint32'],
    [7, 'levels', 'double', 'repeated'],
    [8, 'params', { map: ['string', 'double'] }],
    [9, 'request_id', 'string'],
    [10, 'interval_method', 'enum:IntervalMethod'],
    [11, 'ensembles', 'Ensemble', 'repeated'],
  ],
  BacktestResponse: [
    [1, 'series_name', 'string'],
    [2, 'scores', 'ModelScore', 'repeated'],
    [3, 'request_id', 'string'],
    [4, 'naive2', 'ModelScore'],
  ],
  ModelScore: [
    [1, 'model', 'ModelInfo'],
    [2, 'smape', 'double'],
    [3, 'mase', 'double'],
    [4, 'owa', 'double'],
    [5, 'coverage', 'LevelCoverage', 'repeated'],
    [6, 'msis', 'double'],
    [7, 'origins', 'OriginResult', 'repeated'],
    [8, 'error', 'string'],
  ],
  LevelCoverage: [[1, 'level', 'double'], [2, 'coverage', 'double']],
  OriginResult: [
    [1, 'train_size', 'uint32'],
    [2, 'points', 'ForecastPoint', 'repeated'],
    [3, 'actuals', 'double', 'repeated'],
    [4, 'smape', 'double'],
    [5, 'mase', 'double'],
  ],
  // stratus/v1/risk.proto
  RiskRequest: [
    [1, 'model', 'ModelRef'],
    [2, 'subject', 'string'],
    [3, 'indicators', { map: ['string', 'double'] }],
    [4, 'series', { map: ['string', 'Series'] }],
    [5, 'params', { map: ['string', 'double'] }],
    [6, 'demand', 'ForecastRequest'],
  ],
  Factor: [
    [1, 'indicator', 'string'],
    [2, 'value', 'double'],
    [3, 'contribution', 'double'],
    [4, 'explanation', 'string'],
  ],
  RiskResponse: [
    [1, 'model', 'ModelInfo'],
    [2, 'subject', 'string'],
    [3, 'score', 'double'],
    [4, 'band', 'enum:RiskBand'],
    [5, 'factors', 'Factor', 'repeated'],
    [6, 'notes', 'string', 'repeated'],
  ],
};

// Enum value names by number, as in the .proto files.
export const enums = {
  Frequency: ['FREQUENCY_UNSPECIFIED', 'FREQUENCY_ANNUAL', 'FREQUENCY_QUARTERLY', 'FREQUENCY_MONTHLY'],
  ModelKind: ['MODEL_KIND_UNSPECIFIED', 'MODEL_KIND_FORECAST', 'MODEL_KIND_RISK'],
  ModelState: ['MODEL_STATE_UNSPECIFIED', 'MODEL_STATE_READY', 'MODEL_STATE_FAILED'],
  Isolation: ['ISOLATION_UNSPECIFIED', 'ISOLATION_IN_PROCESS', 'ISOLATION_PROCESS'],
  Combination: [
    'COMBINATION_UNSPECIFIED',
    'COMBINATION_MEAN',
    'COMBINATION_MEDIAN',
    'COMBINATION_BACKTEST_WEIGHTED',
  ],
  IntervalMethod: ['INTERVAL_METHOD_UNSPECIFIED', 'INTERVAL_METHOD_MODEL', 'INTERVAL_METHOD_CONFORMAL'],
  RiskBand: ['RISK_BAND_UNSPECIFIED', 'RISK_BAND_LOW', 'RISK_BAND_MODERATE', 'RISK_BAND_HIGH', 'RISK_BAND_SEVERE'],
};

/** The number of enum value `name` of enum `enumName` (e.g. enumValue('ModelKind', 'MODEL_KIND_RISK') = 2). */
export function enumValue(enumName, name) {
  const i = enums[enumName].indexOf(name);
  if (i < 0) throw new Error(`${enumName} has no value ${name}`);
  return i;
}

/** The name of enum value `n`, or the number as text for a value this codec does not know. */
export function enumName(enumName, n) {
  return enums[enumName][n] ?? String(n);
}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

const SCALAR_WIRE = {
  double: FIXED64,
  float: FIXED32,
  int32: VARINT,
  int64: VARINT,
  uint32: VARINT,
  uint64: VARINT,
  bool: VARINT,
  string: LEN,
  bytes: LEN,
  enum: VARINT,
};

function kindOf(type) {
  if (typeof type !== 'string') return 'map';
  if (type.startsWith('enum:')) return 'enum';
  if (type in SCALAR_WIRE) return type;
  if (!(type in schemas)) throw new Error(`unknown message type ${type}`);
  return 'message';
}

function schemaOf(type) {
  const schema = schemas[type];
  if (!schema) throw new Error(`unknown message type ${type}`);
  return schema;
}

// ---------------------------------------------------------------- encoding --

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

class Writer {
  constructor() {
    this.chunks = [];
    this.bytes = [];
    this.length = 0;
  }

  byte(b) {
    this.bytes.push(b);
    this.length += 1;
  }

  raw(u8) {
    this.flush();
    this.chunks.push(u8);
    this.length += u8.length;
  }

  flush() {
    if (this.bytes.length) {
      this.chunks.push(Uint8Array.from(this.bytes));
      this.bytes = [];
    }
  }

  varint(n) {
    if (typeof n === 'bigint' || n < 0) {
      let b = BigInt.asUintN(64, BigInt(n));
      while (b > 127n) {
        this.byte(Number(b & 127n) | 128);
        b >>= 7n;
      }
      this.byte(Number(b));
      return;
    }
    while (n > 127) {
      this.byte((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    this.byte(n);
  }

  tag(field, wire) {
    this.varint(field * 8 + wire);
  }

  double(v) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.raw(b);
  }

  float(v) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.raw(b);
  }

  lengthDelimited(u8) {
    this.varint(u8.length);
    this.raw(u8);
  }

  finish() {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function integer(v, what) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${what}: ${String(v)} is not an integer`);
  }
  return v;
}

function isDefault(kind, v) {
  switch (kind) {
    case 'string':
      return v === '';
    case 'bytes':
      return v.length === 0;
    case 'bool':
      return !v;
    case 'double':
    case 'float':
      // -0 is not the default: its bits differ, and it is written.
      return v === 0 && !Object.is(v, -0);
    default:
      return v === 0 || v === 0n;
  }
}

// Writes a scalar's value with no tag (also used for packed elements).
function writeScalar(w, kind, v, what) {
  switch (kind) {
    case 'double':
      w.double(Number(v));
      break;
    case 'float':
      w.float(Number(v));
      break;
    case 'bool':
      w.varint(v ? 1 : 0);
      break;
    case 'string':
      w.lengthDelimited(utf8Encoder.encode(String(v)));
      break;
    case 'bytes':
      w.lengthDelimited(v instanceof Uint8Array ? v : Uint8Array.from(v));
      break;
    case 'uint32':
    case 'uint64':
      if (integer(v, what) < 0) throw new RangeError(`${what}: ${v} is negative`);
      w.varint(v);
      break;
    default: // int32, int64, enum
      w.varint(integer(v, what));
  }
}

function writeField(w, number, type, v, always, what) {
  const kind = kindOf(type);
  if (kind === 'message') {
    w.tag(number, LEN);
    w.lengthDelimited(encode(type, v));
    return;
  }
  if (!always && isDefault(kind, v)) return;
  w.tag(number, SCALAR_WIRE[kind]);
  writeScalar(w, kind, v, what);
}

/** Encodes `obj` as message `type` (a key of `schemas`); returns a Uint8Array. */
export function encode(type, obj = {}) {
  const w = new Writer();
  for (const [number, name, type2, flag] of schemaOf(type)) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    const what = `${type}.${name}`;
    const kind = kindOf(type2);
    if (kind === 'map') {
      const [keyType, valueType] = type2.map;
      for (const key of sortedKeys(Object.keys(v), keyType)) {
        const entry = new Writer();
        const k = keyType === 'string' ? key : Number(key);
        writeField(entry, 1, keyType, k, true, `${what} key`);
        writeField(entry, 2, valueType, v[key], true, `${what}[${key}]`);
        w.tag(number, LEN);
        w.lengthDelimited(entry.finish());
      }
    } else if (flag === 'repeated') {
      if (!Array.isArray(v)) throw new TypeError(`${what}: expected an array`);
      if (SCALAR_WIRE[kind] !== undefined && SCALAR_WIRE[kind] !== LEN) {
        if (v.length === 0) continue;
        const packed = new Writer();
        for (const x of v) writeScalar(packed, kind, x, what);
        w.tag(number, LEN);
        w.lengthDelimited(packed.finish());
      } else {
        for (const x of v) writeField(w, number, type2, x, true, what);
      }
    } else {
      writeField(w, number, type2, v, flag === 'oneof', what);
    }
  }
  return w.finish();
}

// Map keys in the reference implementation's deterministic order: string
// keys by their UTF-8 bytes, integer keys by value.
function sortedKeys(keys, keyType) {
  if (keyType !== 'string') return keys.sort((a, b) => Number(a) - Number(b));
  const bytes = new Map(keys.map((k) => [k, utf8Encoder.encode(k)]));
  return keys.sort((a, b) => {
    const x = bytes.get(a);
    const y = bytes.get(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  });
}

// ---------------------------------------------------------------- decoding --

export class DecodeError extends Error {}

class Reader {
  constructor(buf, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n) {
    if (this.pos + n > this.end) throw new DecodeError(`truncated message at byte ${this.pos}`);
  }

  // A varint as [low 32 bits, high 32 bits], both unsigned.
  varint() {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      const bits = b & 127;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 128) return [lo >>> 0, hi >>> 0];
    }
    throw new DecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  length() {
    const [lo, hi] = this.varint();
    if (hi !== 0 || lo > this.end - this.pos) {
      throw new DecodeError(`length ${hi ? 'over 2^32' : lo} runs past the end at byte ${this.pos}`);
    }
    return lo;
  }

  bytes() {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  double() {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  float() {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(wire) {
    switch (wire) {
      case VARINT:
        this.varint();
        break;
      case FIXED64:
        this.need(8);
        this.pos += 8;
        break;
      case LEN: {
        const n = this.length(); // before `this.pos +=`, which would read pos first
        this.pos += n;
        break;
      }
      case FIXED32:
        this.need(4);
        this.pos += 4;
        break;
      default:
        throw new DecodeError(`unsupported wire type ${wire} at byte ${this.pos}`);
    }
  }
}

function varintAs(kind, [lo, hi]) {
  switch (kind) {
    case 'uint32':
      return lo;
    case 'int32':
    case 'enum':
      return lo | 0;
    case 'bool':
      return lo !== 0 || hi !== 0;
    case 'uint64':
      return hi * 4294967296 + lo;
    default: // int64
      return hi & 0x80000000 ? Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))) : hi * 4294967296 + lo;
  }
}

function readScalar(r, kind) {
  switch (kind) {
    case 'double':
      return r.double();
    case 'float':
      return r.float();
    case 'string':
      return utf8Decoder.decode(r.bytes());
    case 'bytes':
      return r.bytes().slice();
    default:
      return varintAs(kind, r.varint());
  }
}

function defaultOf(kind) {
  switch (kind) {
    case 'string':
      return '';
    case 'bytes':
      return new Uint8Array(0);
    case 'bool':
      return false;
    case 'message':
      return null;
    case 'map':
      return {};
    default:
      return 0;
  }
}

/** A message of `type` with every field at its default. */
export function empty(type) {
  const obj = {};
  for (const [, name, type2, flag] of schemaOf(type)) {
    if (flag === 'oneof') continue;
    obj[name] = flag === 'repeated' ? [] : defaultOf(kindOf(type2));
  }
  return obj;
}

function readInto(type, r, obj) {
  const fields = fieldsByNumber(type);
  while (r.pos < r.end) {
    const [lo, hi] = r.varint();
    if (hi !== 0) throw new DecodeError(`field number too large at byte ${r.pos}`);
    const number = lo >>> 3;
    const wire = lo & 7;
    if (number === 0) throw new DecodeError(`field number 0 at byte ${r.pos}`);
    const field = fields.get(number);
    if (!field) {
      r.skip(wire);
      continue;
    }
    const [, name, type2, flag] = field;
    const kind = kindOf(type2);
    if (kind === 'map') {
      if (wire !== LEN) {
        r.skip(wire);
        continue;
      }
      const [keyType, valueType] = type2.map;
      const n = r.length();
      const entry = new Reader(r.buf, r.pos, r.pos + n);
      r.pos += n;
      const keyKind = kindOf(keyType);
      const valueKind = kindOf(valueType);
      let key = defaultOf(keyKind);
      let value = valueKind === 'message' ? empty(valueType) : defaultOf(valueKind);
      while (entry.pos < entry.end) {
        const [tlo] = entry.varint();
        const eNumber = tlo >>> 3;
        const eWire = tlo & 7;
        if (eNumber === 1 && eWire === SCALAR_WIRE[keyKind]) key = readScalar(entry, keyKind);
        else if (eNumber === 2 && valueKind === 'message' && eWire === LEN) {
          const m = entry.length();
          readInto(valueType, new Reader(entry.buf, entry.pos, entry.pos + m), value);
          entry.pos += m;
        } else if (eNumber === 2 && eWire === SCALAR_WIRE[valueKind]) value = readScalar(entry, valueKind);
        else entry.skip(eWire);
      }
      obj[name][String(key)] = value;
      continue;
    }
    if (kind === 'message') {
      if (wire !== LEN) {
        r.skip(wire);
        continue;
      }
      const n = r.length();
      const sub = new Reader(r.buf, r.pos, r.pos + n);
      r.pos += n;
      if (flag === 'repeated') {
        obj[name].push(readInto(type2, sub, empty(type2)));
      } else {
        // A message field seen twice is merged, as protobuf does.
        if (!obj[name]) obj[name] = empty(type2);
        readInto(type2, sub, obj[name]);
      }
      continue;
    }
    const expected = SCALAR_WIRE[kind];
    if (flag === 'repeated' && wire === LEN && expected !== LEN) {
      // Packed.
      const n = r.length();
      const packed = new Reader(r.buf, r.pos, r.pos + n);
      r.pos += n;
      while (packed.pos < packed.end) obj[name].push(readScalar(packed, kind));
      continue;
    }
    if (wire !== expected) {
      // A field sent with a wire type its declaration cannot have: unknown.
      r.skip(wire);
      continue;
    }
    const v = readScalar(r, kind);
    if (flag === 'repeated') obj[name].push(v);
    else obj[name] = v;
  }
  return obj;
}

const byNumberCache = new Map();
function fieldsByNumber(type) {
  let m = byNumberCache.get(type);
  if (!m) {
    m = new Map(schemaOf(type).map((f) => [f[0], f]));
    byNumberCache.set(type, m);
  }
  return m;
}

/** Decodes `bytes` (Uint8Array or ArrayBuffer) as message `type`. Throws DecodeError on malformed input. */
export function decode(type, bytes) {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return readInto(type, new Reader(buf), empty(type));
}

// ---------------------------------------------------------------- gRPC-Web --

/** gRPC status code names by number. */
export const statusNames = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The unary RPCs the console calls: [service, request type, response type]. */
export const rpcs = {
  ListModels: ['stratus.v1.ModelService', 'ListModelsRequest', 'ListModelsResponse'],
  GetModel: ['stratus.v1.ModelService', 'GetModelRequest', 'ModelInfo'],
  ListDatasets: ['stratus.v1.DatasetService', 'ListDatasetsRequest', 'ListDatasetsResponse'],
  GetDataset: ['stratus.v1.DatasetService', 'GetDatasetRequest', 'Dataset'],
  Forecast: ['stratus.v1.ForecastService', 'ForecastRequest', 'ForecastResponse'],
  Backtest: ['stratus.v1.EvaluationService', 'BacktestRequest', 'BacktestResponse'],
  ScoreRisk: ['stratus.v1.RiskService', 'RiskRequest', 'RiskResponse'],
};

/** The request headers the console sends with every call (the API's CORS must allow the non-simple ones). */
export const requestHeaders = {
  'content-type': 'application/grpc-web+proto',
  'x-grpc-web': '1',
  accept: 'application/grpc-web+proto',
};

/** A failed call: `code` is the gRPC status number, `codeName` its name. */
export class GrpcError extends Error {
  constructor(code, message, { fieldViolations = [], errorInfo = null, retryDelay = null, network = false, httpStatus = 0, detail = '' } = {}) {
    const codeName = statusNames[code] ?? `CODE_${code}`;
    super(message ? `${codeName}: ${message}` : codeName);
    this.name = 'GrpcError';
    this.code = code;
    this.codeName = codeName;
    this.grpcMessage = message;
    this.fieldViolations = fieldViolations;
    this.errorInfo = errorInfo;
    this.retryDelay = retryDelay;
    this.network = network;
    this.httpStatus = httpStatus;
    // For a network failure: what the fetch itself said (e.g. "Failed to fetch").
    this.detail = detail;
  }
}

/** One gRPC message frame: flag 0, big-endian length, the bytes. */
export function frame(messageBytes) {
  const out = new Uint8Array(5 + messageBytes.length);
  new DataView(out.buffer).setUint32(1, messageBytes.length, false);
  out.set(messageBytes, 5);
  return out;
}

/**
 * Splits a gRPC-Web response body into its data messages and its trailers
 * (lower-cased header names to values; null when the body carries no
 * trailer frame).
 */
export function parseFrames(body) {
  const buf = body instanceof Uint8Array ? body : new Uint8Array(body);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const messages = [];
  let trailers = null;
  let at = 0;
  while (at < buf.length) {
    if (at + 5 > buf.length) throw new DecodeError(`truncated gRPC-Web frame header at byte ${at}`);
    const flag = buf[at];
    const n = view.getUint32(at + 1, false);
    if (at + 5 + n > buf.length) throw new DecodeError(`gRPC-Web frame at byte ${at} runs past the end`);
    const payload = buf.subarray(at + 5, at + 5 + n);
    at += 5 + n;
    if (flag & 0x80) {
      trailers = { ...(trailers ?? {}), ...parseHeaderBlock(utf8Decoder.decode(payload)) };
    } else if (flag & 0x01) {
      throw new DecodeError('compressed gRPC-Web frames are not supported');
    } else {
      messages.push(payload);
    }
  }
  return { messages, trailers };
}

/** Parses "name: value\r\n" lines into an object with lower-cased names. */
export function parseHeaderBlock(text) {
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

function base64ToBytes(text) {
  let s = text.trim().replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function percentDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const TYPE_PREFIX = 'type.googleapis.com/';

/**
 * Decodes a `grpc-status-details-bin` value (base64 google.rpc.Status) into
 * {code, message, fieldViolations, errorInfo, retryDelay}; null if it does
 * not decode.
 */
export function decodeStatusDetails(base64) {
  try {
    const status = decode('Status', base64ToBytes(base64));
    const out = { code: status.code, message: status.message, fieldViolations: [], errorInfo: null, retryDelay: null };
    for (const any of status.details) {
      const typeName = any.type_url.startsWith(TYPE_PREFIX) ? any.type_url.slice(TYPE_PREFIX.length) : any.type_url;
      if (typeName === 'google.rpc.BadRequest') {
        out.fieldViolations.push(...decode('BadRequest', any.value).field_violations);
      } else if (typeName === 'google.rpc.ErrorInfo') {
        out.errorInfo = decode('ErrorInfo', any.value);
      } else if (typeName === 'google.rpc.RetryInfo') {
        const d = decode('RetryInfo', any.value).retry_delay;
        if (d) out.retryDelay = d.seconds + d.nanos / 1e9;
      }
    }
    return out;
  } catch {
    return null;
  }
}

// gRPC's mapping of HTTP statuses to codes, for answers without grpc-status.
function codeForHttp(status) {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

function errorFromStatus(statusText, messageText, detailsText, httpStatus) {
  const code = Number.parseInt(statusText, 10);
  const message = percentDecode(messageText ?? '');
  const details = detailsText ? decodeStatusDetails(detailsText) : null;
  return new GrpcError(Number.isNaN(code) ? 2 : code, message, {
    fieldViolations: details?.fieldViolations ?? [],
    errorInfo: details?.errorInfo ?? null,
    retryDelay: details?.retryDelay ?? null,
    httpStatus,
  });
}

/**
 * Calls unary RPC `method` (a key of `rpcs`) at `baseUrl` (the API's URL,
 * e.g. "http://127.0.0.1:50051") with request object `request`; resolves to
 * the decoded response, or rejects with a GrpcError. `options.fetch` defaults
 * to the global fetch; `options.timeoutMs` (default 60 s) bounds the call.
 */
export async function call(baseUrl, method, request = {}, options = {}) {
  const spec = rpcs[method];
  if (!spec) throw new Error(`unknown RPC ${method}`);
  const [service, requestType, responseType] = spec;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 60000;
  const url = `${String(baseUrl).replace(/\/+$/, '')}/${service}/${method}`;
  const body = frame(encode(requestType, request));
  let response;
  let bytes;
  try {
    response = await fetchFn(url, {
      method: 'POST',
      headers: requestHeaders,
      body,
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    });
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    if (e && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
      throw new GrpcError(4, `no answer from the API at ${baseUrl} within ${timeoutMs / 1000} s`);
    }
    const detail = e && e.message ? e.message : String(e);
    throw new GrpcError(14, `cannot reach the API at ${baseUrl} (${detail})`, { network: true, detail });
  }
  const headers = response.headers;
  const contentType = headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/grpc-web') && !headers.has('grpc-status')) {
    throw new GrpcError(
      codeForHttp(response.status),
      `the API at ${baseUrl} answered HTTP ${response.status} (${contentType || 'no content type'}), not gRPC-Web`,
      { httpStatus: response.status },
    );
  }
  if (contentType.startsWith('application/grpc-web-text')) {
    throw new GrpcError(13, 'the API answered in gRPC-Web text mode; the console speaks binary mode only');
  }
  let parsed;
  try {
    parsed = parseFrames(bytes);
  } catch (e) {
    throw new GrpcError(13, `malformed gRPC-Web response: ${e.message}`);
  }
  // Status: the trailer frame wins; a trailers-only answer has it in the headers.
  const trailers = parsed.trailers ?? {};
  const statusText = trailers['grpc-status'] ?? headers.get('grpc-status');
  if (statusText === undefined || statusText === null) {
    throw new GrpcError(
      response.ok ? 13 : codeForHttp(response.status),
      response.ok
        ? 'the API sent no grpc-status (if the API is on another origin, its CORS must expose grpc-status)'
        : `HTTP ${response.status} without grpc-status`,
      { httpStatus: response.status },
    );
  }
  if (statusText.trim() !== '0') {
    const fromTrailers = parsed.trailers && 'grpc-status' in parsed.trailers;
    const get = (name) => (fromTrailers ? trailers[name] : headers.get(name));
    throw errorFromStatus(statusText, get('grpc-message'), get('grpc-status-details-bin'), response.status);
  }
  if (parsed.messages.length !== 1) {
    throw new GrpcError(13, `expected one response message, got ${parsed.messages.length}`);
  }
  try {
    return decode(responseType, parsed.messages[0]);
  } catch (e) {
    throw new GrpcError(13, `cannot decode ${responseType}: ${e.message}`);
  }
}
