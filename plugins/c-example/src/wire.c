/*
 * wire.c: the field numbers of the stratus.plugin.v1 messages this plugin
 * uses, decoded and encoded with pb.c. Unknown fields are skipped, so a host
 * built against a newer plugin.proto (fields appended) still decodes here.
 *
 * Decoding follows protobuf's merge rules where they matter: a repeated field
 * appends, a scalar's last occurrence wins, an embedded message that occurs
 * twice is merged, a map key that occurs twice keeps its last value, and in a
 * oneof the last member present wins.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define WRONG_WIRE_TYPE "unexpected wire type for this field"

/* Record where and why decoding failed, and stop. */
#define FAIL(where_, why_)                                                                         \
    do {                                                                                           \
        err->where = (where_);                                                                     \
        err->why = (why_);                                                                         \
        return 1;                                                                                  \
    } while (0)

/* Run a pb_* call returning an error string; fail at `where_` if it does. */
#define TRY(where_, call_)                                                                         \
    do {                                                                                           \
        const char *why__ = (call_);                                                               \
        if (why__) {                                                                               \
            FAIL(where_, why__);                                                                   \
        }                                                                                          \
    } while (0)

/* A string field: length-delimited, UTF-8. `payload` may be NULL. */
static int read_string(pb_reader *r, uint32_t wire_type, const char *where, pb_reader *payload,
                       wire_decode_error *err) {
    pb_reader bytes;
    if (wire_type != PB_WT_LEN) {
        FAIL(where, WRONG_WIRE_TYPE);
    }
    TRY(where, pb_read_len(r, &bytes));
    TRY(where, pb_check_utf8(&bytes));
    if (payload) {
        *payload = bytes;
    }
    return 0;
}

/* An embedded message field: its bytes as a reader. */
static int read_message(pb_reader *r, uint32_t wire_type, const char *where, pb_reader *payload,
                        wire_decode_error *err) {
    if (wire_type != PB_WT_LEN) {
        FAIL(where, WRONG_WIRE_TYPE);
    }
    TRY(where, pb_read_len(r, payload));
    return 0;
}

/* A uint32 (or enum) field: a varint truncated to 32 bits, as protobuf does. */
static int read_uint32(pb_reader *r, uint32_t wire_type, const char *where, uint32_t *out,
                       wire_decode_error *err) {
    uint64_t value;
    if (wire_type != PB_WT_VARINT) {
        FAIL(where, WRONG_WIRE_TYPE);
    }
    TRY(where, pb_read_varint(r, &value));
    *out = (uint32_t)value;
    return 0;
}

/* A double field. */
static int read_double(pb_reader *r, uint32_t wire_type, const char *where, double *out,
                       wire_decode_error *err) {
    if (wire_type != PB_WT_I64) {
        FAIL(where, WRONG_WIRE_TYPE);
    }
    TRY(where, pb_read_double(r, out));
    return 0;
}

/* Observation { string period = 1; double value = 2; } */
static int decode_observation(pb_reader m, double *value, wire_decode_error *err) {
    *value = 0.0;
    while (pb_more(&m)) {
        uint32_t field, wt;
        TRY("Observation", pb_read_tag(&m, &field, &wt));
        switch (field) {
        case 1:
            if (read_string(&m, wt, "Observation.period", NULL, err)) {
                return 1;
            }
            break;
        case 2:
            if (read_double(&m, wt, "Observation.value", value, err)) {
                return 1;
            }
            break;
        default:
            TRY("Observation", pb_skip(&m, field, wt));
        }
    }
    return 0;
}

/* Series { name = 1; unit = 2; Frequency frequency = 3;
 *          repeated Observation observations = 4; } */
static int decode_series(pb_reader m, wire_forecast_input *in, wire_decode_error *err) {
    while (pb_more(&m)) {
        uint32_t field, wt;
        pb_reader payload;
        double value;
        TRY("Series", pb_read_tag(&m, &field, &wt));
        switch (field) {
        case 1:
            if (read_string(&m, wt, "Series.name", NULL, err)) {
                return 1;
            }
            break;
        case 2:
            if (read_string(&m, wt, "Series.unit", NULL, err)) {
                return 1;
            }
            break;
        case 3:
            if (read_uint32(&m, wt, "Series.frequency", &in->frequency, err)) {
                return 1;
            }
            break;
        case 4:
            if (read_message(&m, wt, "Series.observations", &payload, err) ||
                decode_observation(payload, &value, err)) {
                return 1;
            }
            TRY("Series.observations", pb_doubles_push(&in->values, value));
            break;
        default:
            TRY("Series", pb_skip(&m, field, wt));
        }
    }
    return 0;
}

/* A map<string, double> entry: { string key = 1; double value = 2; }. */
static int decode_param(pb_reader m, wire_forecast_input *in, wire_decode_error *err) {
    wire_param entry = {(const uint8_t *)"", 0, 0.0};
    while (pb_more(&m)) {
        uint32_t field, wt;
        pb_reader key;
        TRY("ForecastInput.params", pb_read_tag(&m, &field, &wt));
        switch (field) {
        case 1:
            if (read_string(&m, wt, "ForecastInput.params (key)", &key, err)) {
                return 1;
            }
            entry.key = key.cur;
            entry.key_len = (size_t)(key.end - key.cur);
            break;
        case 2:
            if (read_double(&m, wt, "ForecastInput.params (value)", &entry.value, err)) {
                return 1;
            }
            break;
        default:
            TRY("ForecastInput.params", pb_skip(&m, field, wt));
        }
    }
    /* Every entry is kept; wire_param_get reads from the end, so the last
     * occurrence of a key wins without a quadratic de-duplication here. */
    void *items = in->params;
    if (!pb_vec_reserve(&items, &in->params_cap, in->n_params + 1, sizeof(wire_param))) {
        FAIL("ForecastInput.params", "out of memory");
    }
    in->params = items;
    in->params[in->n_params++] = entry;
    return 0;
}

/* ForecastInput { Series series = 1; uint32 horizon = 2;
 *                 repeated double levels = 3; map<string, double> params = 4;
 *                 repeated string future_periods = 5;
 *                 uint32 periods_per_year = 6; } */
static int decode_forecast_input(pb_reader m, wire_forecast_input *in, wire_decode_error *err) {
    while (pb_more(&m)) {
        uint32_t field, wt;
        pb_reader payload;
        TRY("ForecastInput", pb_read_tag(&m, &field, &wt));
        switch (field) {
        case 1:
            if (read_message(&m, wt, "ForecastInput.series", &payload, err) ||
                decode_series(payload, in, err)) {
                return 1;
            }
            break;
        case 2:
            if (read_uint32(&m, wt, "ForecastInput.horizon", &in->horizon, err)) {
                return 1;
            }
            break;
        case 3:
            TRY("ForecastInput.levels", pb_read_doubles(&m, wt, &in->levels));
            break;
        case 4:
            if (read_message(&m, wt, "ForecastInput.params", &payload, err) ||
                decode_param(payload, in, err)) {
                return 1;
            }
            break;
        case 5:
            if (read_string(&m, wt, "ForecastInput.future_periods", NULL, err)) {
                return 1;
            }
            in->n_future_periods++;
            break;
        case 6:
            if (read_uint32(&m, wt, "ForecastInput.periods_per_year", &in->periods_per_year,
                            err)) {
                return 1;
            }
            break;
        default:
            TRY("ForecastInput", pb_skip(&m, field, wt));
        }
    }
    return 0;
}

static void forecast_input_free(wire_forecast_input *in) {
    pb_doubles_free(&in->values);
    pb_doubles_free(&in->levels);
    free(in->params);
    memset(in, 0, sizeof *in);
}

/* Walks a message's fields without interpreting them: checks the framing. */
static int check_fields(pb_reader m, const char *where, wire_decode_error *err) {
    while (pb_more(&m)) {
        uint32_t field, wt;
        TRY(where, pb_read_tag(&m, &field, &wt));
        TRY(where, pb_skip(&m, field, wt));
    }
    return 0;
}

/* InvokeRequest { oneof call { ForecastInput forecast = 1;
 *                              RiskInput risk = 2; } } */
int wire_decode_invoke_request(const uint8_t *bytes, size_t len, wire_invoke_request *out,
                               wire_decode_error *err) {
    pb_reader m = pb_reader_of(bytes, len);
    memset(out, 0, sizeof *out);
    while (pb_more(&m)) {
        uint32_t field, wt;
        pb_reader payload;
        TRY("InvokeRequest", pb_read_tag(&m, &field, &wt));
        switch (field) {
        case 1:
            if (read_message(&m, wt, "InvokeRequest.forecast", &payload, err)) {
                return 1;
            }
            if (out->call != WIRE_CALL_FORECAST) {
                forecast_input_free(&out->forecast);
                out->call = WIRE_CALL_FORECAST;
            }
            if (decode_forecast_input(payload, &out->forecast, err)) {
                return 1;
            }
            break;
        case 2:
            if (read_message(&m, wt, "InvokeRequest.risk", &payload, err) ||
                check_fields(payload, "RiskInput", err)) {
                return 1;
            }
            forecast_input_free(&out->forecast);
            out->call = WIRE_CALL_RISK;
            break;
        default:
            TRY("InvokeRequest", pb_skip(&m, field, wt));
        }
    }
    return 0;
}

void wire_invoke_request_free(wire_invoke_request *request) {
    forecast_input_free(&request->forecast);
    request->call = WIRE_CALL_NONE;
}

const double *wire_param_get(const wire_forecast_input *input, const char *name) {
    size_t len = strlen(name);
    for (size_t i = input->n_params; i-- > 0;) {
        const wire_param *p = &input->params[i];
        if (p->key_len == len && memcmp(p->key, name, len) == 0) {
            return &p->value;
        }
    }
    return NULL;
}

/* map<string, string> entry: { string key = 1; string value = 2; } */
static int decode_setting(pb_reader m, wire_decode_error *err) {
    while (pb_more(&m)) {
        uint32_t field, wt;
        TRY("PluginConfig.settings", pb_read_tag(&m, &field, &wt));
        switch (field) {
        case 1:
            if (read_string(&m, wt, "PluginConfig.settings (key)", NULL, err)) {
                return 1;
            }
            break;
        case 2:
            if (read_string(&m, wt, "PluginConfig.settings (value)", NULL, err)) {
                return 1;
            }
            break;
        default:
            TRY("PluginConfig.settings", pb_skip(&m, field, wt));
        }
    }
    return 0;
}

/* PluginConfig { map<string, string> settings = 1; } */
int wire_decode_plugin_config(const uint8_t *bytes, size_t len, size_t *n_settings,
                              wire_decode_error *err) {
    pb_reader m = pb_reader_of(bytes, len);
    *n_settings = 0;
    while (pb_more(&m)) {
        uint32_t field, wt;
        pb_reader payload;
        TRY("PluginConfig", pb_read_tag(&m, &field, &wt));
        if (field == 1) {
            if (read_message(&m, wt, "PluginConfig.settings", &payload, err) ||
                decode_setting(payload, err)) {
                return 1;
            }
            ++*n_settings;
        } else {
            TRY("PluginConfig", pb_skip(&m, field, wt));
        }
    }
    return 0;
}

/* ParamSpec { name = 1; description = 2; default_value = 3; min = 4; max = 5; } */
static void put_param_spec(pb_writer *w, uint32_t field, const wire_param_spec *p) {
    size_t mark = pb_begin_message(w, field);
    pb_put_string_field(w, 1, p->name);
    pb_put_string_field(w, 2, p->description);
    pb_put_double_field(w, 3, p->default_value);
    pb_put_double_field(w, 4, p->min);
    pb_put_double_field(w, 5, p->max);
    pb_end_message(w, mark);
}

/* ModelDescription { name = 1; version = 2; ModelKind kind = 3;
 *                    description = 4; repeated ParamSpec params = 5;
 *                    repeated ParamSpec inputs = 6; } */
void wire_put_model_description(pb_writer *w, const wire_model_description *d) {
    pb_put_string_field(w, 1, d->name);
    pb_put_string_field(w, 2, d->version);
    pb_put_varint_field(w, 3, d->kind);
    pb_put_string_field(w, 4, d->description);
    for (size_t i = 0; i < d->n_params; i++) {
        put_param_spec(w, 5, &d->params[i]);
    }
}

/* PluginError { Code code = 1; string message = 2; string field = 3; } */
void wire_put_plugin_error(pb_writer *w, uint32_t code, const char *message, const char *field) {
    pb_put_varint_field(w, 1, code);
    pb_put_string_field(w, 2, message);
    if (field && field[0] != '\0') {
        pb_put_string_field(w, 3, field);
    }
}

/* InvokeResponse { oneof result { ForecastOutput forecast = 1; ... } } */
size_t wire_begin_forecast_response(pb_writer *w) {
    return pb_begin_message(w, 1);
}

/* ForecastOutput.points = 1: ForecastPoint { mean = 1; growth = 2;
 *   repeated Interval intervals = 3; }, Interval { level = 1; lower = 2;
 *   upper = 3; } */
void wire_put_forecast_point(pb_writer *w, double mean, double growth, const double *levels,
                             const double *lowers, const double *uppers, size_t n) {
    size_t point = pb_begin_message(w, 1);
    pb_put_double_field(w, 1, mean);
    pb_put_double_field(w, 2, growth);
    for (size_t i = 0; i < n; i++) {
        size_t interval = pb_begin_message(w, 3);
        pb_put_double_field(w, 1, levels[i]);
        pb_put_double_field(w, 2, lowers[i]);
        pb_put_double_field(w, 3, uppers[i]);
        pb_end_message(w, interval);
    }
    pb_end_message(w, point);
}

/* ForecastOutput.fitted = 3: map<string, double> entries. */
void wire_put_fitted(pb_writer *w, const char *name, double value) {
    size_t entry = pb_begin_message(w, 3);
    pb_put_string_field(w, 1, name);
    pb_put_double_field(w, 2, value);
    pb_end_message(w, entry);
}

/* ForecastOutput.notes = 4. */
void wire_put_note(pb_writer *w, const char *note) {
    pb_put_string_field(w, 4, note);
}

void wire_end_forecast_response(pb_writer *w, size_t mark) {
    pb_end_message(w, mark);
}
