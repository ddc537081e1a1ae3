/*
 * wire.h: the stratus.plugin.v1 messages this plugin reads and writes
 * (proto/stratus/plugin/v1/plugin.proto), on top of the codec in pb.h.
 *
 * Decoded inputs point into the request bytes the host lends (map keys), so
 * they are valid only for the duration of the call that received them.
 */
#ifndef STRATUS_C_EXAMPLE_WIRE_H
#define STRATUS_C_EXAMPLE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "pb.h"

/* PluginError.Code */
enum {
    WIRE_CODE_UNSPECIFIED = 0,
    WIRE_CODE_INVALID_ARGUMENT = 1,
    WIRE_CODE_FAILED_PRECONDITION = 2,
    WIRE_CODE_INTERNAL = 3
};

/* ModelKind */
enum { WIRE_KIND_FORECAST = 1, WIRE_KIND_RISK = 2 };

/* Where a decode failed: the message and field ("Series.observations"),
 * and what was wrong with the bytes there. Both are static strings. */
typedef struct wire_decode_error {
    const char *where;
    const char *why;
} wire_decode_error;

/* One entry of a map<string, double> (ForecastInput.params). The key points
 * into the request bytes. */
typedef struct wire_param {
    const uint8_t *key;
    size_t key_len;
    double value;
} wire_param;

/* A decoded ForecastInput: the fields this model uses. */
typedef struct wire_forecast_input {
    /* Series.observations[].value, oldest first. */
    pb_doubles values;
    /* Series.frequency (a Frequency value). */
    uint32_t frequency;
    uint32_t horizon;
    /* Interval coverages in percent, in the order requested. */
    pb_doubles levels;
    /* params, one entry per distinct key (the last occurrence wins). */
    wire_param *params;
    size_t n_params;
    size_t params_cap;
    /* How many future_periods labels were sent. */
    size_t n_future_periods;
    uint32_t periods_per_year;
} wire_forecast_input;

/* Which call an InvokeRequest carries. */
typedef enum { WIRE_CALL_NONE = 0, WIRE_CALL_FORECAST = 1, WIRE_CALL_RISK = 2 } wire_call;

typedef struct wire_invoke_request {
    wire_call call;
    /* Filled when call == WIRE_CALL_FORECAST. */
    wire_forecast_input forecast;
} wire_invoke_request;

/* Decodes an InvokeRequest (a RiskInput is checked for well-formed fields but
 * not read). Returns 0 on success; otherwise fills *err. Free *out with
 * wire_invoke_request_free either way. */
int wire_decode_invoke_request(const uint8_t *bytes, size_t len, wire_invoke_request *out,
                               wire_decode_error *err);
void wire_invoke_request_free(wire_invoke_request *request);

/* The value of params[name], or NULL if absent. */
const double *wire_param_get(const wire_forecast_input *input, const char *name);

/* Decodes a PluginConfig and counts its settings (keys and values must be
 * UTF-8). Returns 0 on success; otherwise fills *err. */
int wire_decode_plugin_config(const uint8_t *bytes, size_t len, size_t *n_settings,
                              wire_decode_error *err);

/* A declared parameter (ParamSpec). */
typedef struct wire_param_spec {
    const char *name;
    const char *description;
    double default_value;
    double min;
    double max;
} wire_param_spec;

/* A ModelDescription. */
typedef struct wire_model_description {
    const char *name;
    const char *version;
    uint32_t kind;
    const char *description;
    const wire_param_spec *params;
    size_t n_params;
} wire_model_description;

void wire_put_model_description(pb_writer *w, const wire_model_description *d);

/* A PluginError. */
void wire_put_plugin_error(pb_writer *w, uint32_t code, const char *message, const char *field);

/* An InvokeResponse carrying a ForecastOutput, written piece by piece:
 * begin, then the points in order, then fitted entries and notes (any
 * order), then end. */
size_t wire_begin_forecast_response(pb_writer *w);
/* One ForecastPoint with n intervals (levels[i], lowers[i], uppers[i]). */
void wire_put_forecast_point(pb_writer *w, double mean, double growth, const double *levels,
                             const double *lowers, const double *uppers, size_t n);
/* One entry of ForecastOutput.fitted. */
void wire_put_fitted(pb_writer *w, const char *name, double value);
/* One of ForecastOutput.notes. */
void wire_put_note(pb_writer *w, const char *note);
/* mark: what wire_begin_forecast_response returned. */
void wire_end_forecast_response(pb_writer *w, size_t mark);

#endif /* STRATUS_C_EXAMPLE_WIRE_H */
