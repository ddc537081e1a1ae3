/*
 * ses.c: simple exponential smoothing as a Stratus forecast plugin, and the
 * ABI v1 function table that exports it (see
 * plugins/abi/include/stratus_plugin.h).
 *
 * The model (Hyndman & Athanasopoulos, Forecasting: Principles and Practice,
 * 3rd ed., sections 8.1 and 8.7):
 *
 *   level  l(1) = y(1),  l(t) = l(t-1) + alpha * e(t),  e(t) = y(t) - l(t-1)
 *   forecast  y(T+h) = l(T) for every h (flat)
 *   variance  sigma^2 * (1 + (h-1) * alpha^2)
 *
 * where e(2..T) are the one-step in-sample errors and sigma^2 is their mean
 * square. Intervals are normal: mean +- z * sd for any level in (0, 100).
 * alpha is the parameter `alpha`; its default 0 means "fit it": the value of
 * the grid 0.01, 0.02, ..., 0.99 with the least sum of squared one-step
 * errors (the smallest such alpha on ties). With fewer than 3 observations
 * that sum does not depend on alpha, so alpha = 1 is used and a note says so.
 *
 * Threads: invoke may run on many threads at once on one instance, so
 * nothing here is mutable and shared: every call works on its own stack and
 * heap memory. The instance itself is an immutable struct.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stratus_plugin.h"

#include "normal.h"
#include "pb.h"
#include "wire.h"

#if defined(__GNUC__) || defined(__clang__)
#define SES_EXPORT __attribute__((visibility("default")))
#else
#define SES_EXPORT
#endif

#define SES_NAME "ses"
#define SES_VERSION "1.0.0"

/* The grid alpha is fitted over: k / 100 for k = 1 .. FIT_STEPS. */
#define FIT_STEPS 99

/* Most horizon steps, and horizon x levels intervals, one answer may hold.
 * The server's own limits are far lower (100 steps, 1000 intervals by
 * default); these only stop a malformed request from asking for gigabytes. */
#define MAX_HORIZON 1000000u
#define MAX_INTERVALS 10000000u

static const wire_param_spec PARAMS[] = {
    {"alpha",
     "Smoothing weight of the newest observation, in (0, 1]: 1 follows the last value, small "
     "values average over many periods. 0 (the default) fits it: the value of 0.01, 0.02, ..., "
     "0.99 with the least in-sample one-step squared error.",
     0.0, 0.0, 1.0},
};

static const wire_model_description DESCRIPTION = {
    SES_NAME,
    SES_VERSION,
    WIRE_KIND_FORECAST,
    "Simple exponential smoothing, written in C as an example of the plugin ABI "
    "(plugins/c-example): the forecast holds the final smoothed level flat, with normal "
    "intervals of variance sigma^2 (1 + (h-1) alpha^2).",
    PARAMS,
    sizeof PARAMS / sizeof PARAMS[0],
};

/* What create hands out: immutable once made. */
typedef struct ses_instance {
    /* How many settings the PluginConfig held (none are used today). */
    size_t settings;
} ses_instance;

/* A refusal or failure, formatted on the stack (no shared state). */
typedef struct ses_error {
    uint32_t code;
    char field[64];
    char message[512];
} ses_error;

static void set_error(ses_error *err, uint32_t code, const char *field, const char *format, ...) {
    va_list args;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
}

/* Hands a writer's bytes to the host as a StratusPluginBuf. */
static void hand_over(pb_writer *w, StratusPluginBuf *out) {
    out->ptr = w->ptr;
    out->len = w->len;
    out->cap = w->cap;
    if (out->len == 0) {
        /* An empty answer owns nothing (ptr NULL, len 0, as the ABI allows;
         * free_buf on it is a harmless free(NULL)). */
        free(w->ptr);
        out->ptr = NULL;
        out->cap = 0;
    }
    w->ptr = NULL;
    w->len = w->cap = 0;
}

/* Writes err as an encoded PluginError into *out (if out is non-NULL) and
 * returns STRATUS_STATUS_ERROR. If even that cannot be allocated, the buffer
 * is left empty, which the host decodes as a PluginError with no code (an
 * internal failure). */
static int32_t respond_error(const ses_error *err, StratusPluginBuf *out) {
    if (!out) {
        return STRATUS_STATUS_ERROR;
    }
    pb_writer w = {0};
    wire_put_plugin_error(&w, err->code, err->message, err->field);
    if (w.failed) {
        pb_writer_free(&w);
    }
    hand_over(&w, out);
    return STRATUS_STATUS_ERROR;
}

/* Runs the smoothing with weight alpha over y[0..n); returns the sum of
 * squared one-step errors and writes the final level. */
static double smooth(const double *y, size_t n, double alpha, double *level) {
    double l = y[0];
    double sse = 0.0;
    for (size_t t = 1; t < n; t++) {
        double e = y[t] - l;
        sse += e * e;
        l += alpha * e;
    }
    *level = l;
    return sse;
}

/* The grid value of alpha with the least sum of squared one-step errors;
 * ties keep the smaller alpha. */
static double fit_alpha(const double *y, size_t n) {
    double best_alpha = 0.01;
    double best_sse = INFINITY;
    for (int k = 1; k <= FIT_STEPS; k++) {
        /* k / 100 rather than k * 0.01: the nearest double to the decimal. */
        double alpha = k / 100.0;
        double level;
        double sse = smooth(y, n, alpha, &level);
        if (sse < best_sse) {
            best_sse = sse;
            best_alpha = alpha;
        }
    }
    return best_alpha;
}

/* A requested level, its normal quantile and its place in the request. */
typedef struct level_z {
    double level;
    double z;
    size_t index;
} level_z;

static int by_level(const void *a, const void *b) {
    double x = ((const level_z *)a)->level;
    double y = ((const level_z *)b)->level;
    return (x > y) - (x < y);
}

/* z[i] for each levels[i], made monotone in the level, so that intervals at
 * higher levels contain those at lower ones whatever the request's order
 * (the quantile function is monotone; this guards its last bit). Returns 0,
 * or 1 if memory ran out. */
static int quantiles(const double *levels, size_t n, double *z) {
    if (n == 0) {
        return 0;
    }
    level_z *sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        sorted[i].level = levels[i];
        sorted[i].z = normal_central_z(levels[i]);
        sorted[i].index = i;
    }
    qsort(sorted, n, sizeof *sorted, by_level);
    double floor_z = 0.0;
    for (size_t i = 0; i < n; i++) {
        floor_z = fmax(floor_z, sorted[i].z);
        z[sorted[i].index] = floor_z;
    }
    free(sorted);
    return 0;
}

/* A power of two near max |y| (1 for an all-zero series). Dividing by it is
 * exact and so is multiplying back, so smoothing the scaled series gives
 * bit-for-bit the same level and errors as the original would, while the
 * squared errors of a series near the limits of a double cannot overflow. */
static double scale_of(const double *y, size_t n) {
    double largest = 0.0;
    for (size_t i = 0; i < n; i++) {
        largest = fmax(largest, fabs(y[i]));
    }
    if (largest == 0.0) {
        return 1.0;
    }
    int exponent;
    frexp(largest, &exponent); /* largest in [2^(exponent-1), 2^exponent) */
    exponent -= 1;
    /* Keep both the scale and its inverse finite and normal. */
    if (exponent > 1020) {
        exponent = 1020;
    }
    if (exponent < -1020) {
        exponent = -1020;
    }
    return ldexp(1.0, exponent);
}

/* The refusal for arithmetic that leaves the range of a double: the
 * request's doing (a series that swings by hundreds of orders of magnitude),
 * so INVALID_ARGUMENT on the series, as the Rust SDK's ensure_representable. */
static void out_of_range(ses_error *err, const char *what) {
    set_error(err, WIRE_CODE_INVALID_ARGUMENT, "series.observations",
              "the series swings so widely that %s is beyond the range of a double; ask for a "
              "shorter horizon or a lower level, or check the series' units",
              what);
}

/* Forecasts `in` into w (an InvokeResponse). Returns 0, or 1 with err set. */
static int forecast(const wire_forecast_input *in, pb_writer *w, ses_error *err) {
    const double *y = in->values.v;
    size_t n = in->values.n;
    const double *levels = in->levels.v;
    size_t n_levels = in->levels.n;
    uint32_t horizon = in->horizon;

    /* The server validates all of this; a plugin still says what is wrong
     * rather than compute garbage if it is ever called otherwise. */
    if (n == 0) {
        set_error(err, WIRE_CODE_INVALID_ARGUMENT, "series.observations",
                  "ses needs at least one observation; the series has none");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            char field[64];
            snprintf(field, sizeof field, "series.observations[%zu].value", i);
            set_error(err, WIRE_CODE_INVALID_ARGUMENT, field, "%g is not a finite number", y[i]);
            return 1;
        }
    }
    if (horizon == 0 || horizon > MAX_HORIZON) {
        set_error(err, WIRE_CODE_INVALID_ARGUMENT, "horizon", "%u is not between 1 and %u",
                  horizon, MAX_HORIZON);
        return 1;
    }
    for (size_t i = 0; i < n_levels; i++) {
        if (!(levels[i] > 0.0 && levels[i] < 100.0)) {
            char field[32];
            snprintf(field, sizeof field, "levels[%zu]", i);
            set_error(err, WIRE_CODE_INVALID_ARGUMENT, field,
                      "%g is not a coverage in percent strictly between 0 and 100", levels[i]);
            return 1;
        }
    }
    if (n_levels > 0 && horizon > MAX_INTERVALS / n_levels) {
        set_error(err, WIRE_CODE_INVALID_ARGUMENT, "levels",
                  "%u steps x %zu levels is more than %u intervals", horizon, n_levels,
                  MAX_INTERVALS);
        return 1;
    }
    const double *given = wire_param_get(in, "alpha");
    double alpha_param = given ? *given : PARAMS[0].default_value;
    if (!(alpha_param >= PARAMS[0].min && alpha_param <= PARAMS[0].max)) {
        set_error(err, WIRE_CODE_INVALID_ARGUMENT, "params[alpha]",
                  "%g is outside the accepted range [0, 1] (0 fits alpha)", alpha_param);
        return 1;
    }

    /* Scratch: the scaled series, then the quantiles and interval bounds. */
    double scale = scale_of(y, n);
    double inverse = 1.0 / scale;
    double *scaled = malloc(n * sizeof *scaled);
    double *z = malloc((n_levels ? n_levels : 1) * sizeof *z);
    double *lowers = malloc((n_levels ? n_levels : 1) * sizeof *lowers);
    double *uppers = malloc((n_levels ? n_levels : 1) * sizeof *uppers);
    int failed = !scaled || !z || !lowers || !uppers || quantiles(levels, n_levels, z);
    if (failed) {
        set_error(err, WIRE_CODE_INTERNAL, NULL, "ses ran out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        scaled[i] = y[i] * inverse;
    }

    double alpha;
    char alpha_note[200];
    if (alpha_param > 0.0) {
        alpha = alpha_param;
        snprintf(alpha_note, sizeof alpha_note, "alpha = %g, as given.", alpha);
    } else if (n < 3) {
        alpha = 1.0;
        snprintf(alpha_note, sizeof alpha_note,
                 "alpha = 1 (the last value): with fewer than 3 observations the one-step "
                 "errors do not depend on alpha, so it cannot be fitted.");
    } else {
        alpha = fit_alpha(scaled, n);
        snprintf(alpha_note, sizeof alpha_note,
                 "alpha = %.2f, fitted: the least in-sample one-step squared error over 0.01, "
                 "0.02, ..., 0.99.",
                 alpha);
    }
    double level_scaled;
    double sse = smooth(scaled, n, alpha, &level_scaled);
    double mean = level_scaled * scale;
    double sigma = n > 1 ? sqrt(sse / (double)(n - 1)) * scale : 0.0;
    if (!isfinite(mean) || !isfinite(sigma)) {
        out_of_range(err, isfinite(mean) ? "the one-step error" : "the level");
        failed = 1;
        goto done;
    }

    size_t response = wire_begin_forecast_response(w);
    uint32_t lag = in->periods_per_year ? in->periods_per_year : 1;
    for (uint32_t h = 1; h <= horizon; h++) {
        double sd = sigma * sqrt(1.0 + (double)(h - 1) * alpha * alpha);
        for (size_t i = 0; i < n_levels; i++) {
            lowers[i] = mean - z[i] * sd;
            uppers[i] = mean + z[i] * sd;
            if (!isfinite(lowers[i]) || !isfinite(uppers[i])) {
                char what[96];
                snprintf(what, sizeof what, "the %g%% interval at step %u", levels[i], h);
                out_of_range(err, what);
                failed = 1;
                goto done;
            }
        }
        /* Year-on-year growth, as the Rust SDK's growth::year_on_year: against the
         * value `lag` steps earlier, in the (flat) path or in the history;
         * NaN where there is none, it is zero, or the ratio overflows. */
        double base = NAN;
        if (h > lag) {
            base = mean;
        } else if ((size_t)(h - 1) + n >= lag) {
            base = y[(size_t)(h - 1) + n - lag];
        }
        double growth = base != 0.0 ? (mean / base - 1.0) * 100.0 : (double)NAN;
        if (!isfinite(growth)) {
            growth = NAN;
        }
        wire_put_forecast_point(w, mean, growth, levels, lowers, uppers, n_levels);
    }
    wire_put_fitted(w, "alpha", alpha);
    wire_put_fitted(w, "level", mean);
    wire_put_fitted(w, "sigma", sigma);

    char note[300];
    snprintf(note, sizeof note,
             "Simple exponential smoothing (a C plugin): the forecast holds the final smoothed "
             "level, %.6g, flat.",
             mean);
    wire_put_note(w, note);
    wire_put_note(w, alpha_note);
    if (n > 1) {
        snprintf(note, sizeof note,
                 "Intervals are normal with variance sigma^2 (1 + (h-1) alpha^2); sigma = %.6g "
                 "is the root mean square of the %zu one-step in-sample errors.",
                 sigma, n - 1);
    } else {
        snprintf(note, sizeof note,
                 "With a single observation there is no one-step error to measure: sigma is 0 "
                 "and the intervals have zero width.");
    }
    wire_put_note(w, note);
    wire_end_forecast_response(w, response);

done:
    free(scaled);
    free(z);
    free(lowers);
    free(uppers);
    return failed;
}

/* ---- The ABI table ---------------------------------------------------- */

static int32_t ses_describe(StratusPluginBuf *out) {
    if (!out) {
        return STRATUS_STATUS_ERROR;
    }
    pb_writer w = {0};
    wire_put_model_description(&w, &DESCRIPTION);
    if (w.failed) {
        pb_writer_free(&w);
        ses_error err;
        set_error(&err, WIRE_CODE_INTERNAL, NULL, "ses ran out of memory describing itself");
        return respond_error(&err, out);
    }
    hand_over(&w, out);
    return STRATUS_STATUS_OK;
}

static int32_t ses_create(const uint8_t *config, size_t config_len, void **instance,
                          StratusPluginBuf *error) {
    ses_error err;
    wire_decode_error bad;
    size_t settings;
    if (error) {
        error->ptr = NULL;
        error->len = error->cap = 0;
    }
    if (!instance) {
        set_error(&err, WIRE_CODE_INTERNAL, NULL, "create was called without an instance slot");
        return respond_error(&err, error);
    }
    *instance = NULL;
    if (wire_decode_plugin_config(config, config_len, &settings, &bad)) {
        set_error(&err, WIRE_CODE_INTERNAL, NULL,
                  "the host sent a PluginConfig that does not decode: %s: %s", bad.where,
                  bad.why);
        return respond_error(&err, error);
    }
    ses_instance *made = malloc(sizeof *made);
    if (!made) {
        set_error(&err, WIRE_CODE_INTERNAL, NULL, "ses ran out of memory creating an instance");
        return respond_error(&err, error);
    }
    made->settings = settings;
    *instance = made;
    return STRATUS_STATUS_OK;
}

static int32_t ses_invoke(const void *instance, const uint8_t *request, size_t request_len,
                          StratusPluginBuf *out) {
    ses_error err;
    if (!out) {
        return STRATUS_STATUS_ERROR;
    }
    out->ptr = NULL;
    out->len = out->cap = 0;
    if (!instance) {
        set_error(&err, WIRE_CODE_INTERNAL, NULL, "invoke was called without an instance");
        return respond_error(&err, out);
    }
    wire_invoke_request call;
    wire_decode_error bad;
    if (wire_decode_invoke_request(request, request_len, &call, &bad)) {
        wire_invoke_request_free(&call);
        set_error(&err, WIRE_CODE_INTERNAL, NULL,
                  "the host sent an InvokeRequest that does not decode: %s: %s", bad.where,
                  bad.why);
        return respond_error(&err, out);
    }
    if (call.call != WIRE_CALL_FORECAST) {
        wire_call kind = call.call;
        wire_invoke_request_free(&call);
        set_error(&err, WIRE_CODE_FAILED_PRECONDITION, NULL, "%s",
                  kind == WIRE_CALL_RISK
                      ? "ses is a forecast model and scores no risk; send a ForecastInput"
                      : "the InvokeRequest carries no call; ses is a forecast model, send a "
                        "ForecastInput");
        return respond_error(&err, out);
    }
    pb_writer w = {0};
    int failed = forecast(&call.forecast, &w, &err);
    wire_invoke_request_free(&call);
    if (!failed && w.failed) {
        set_error(&err, WIRE_CODE_INTERNAL, NULL, "ses ran out of memory writing its answer");
        failed = 1;
    }
    if (failed) {
        pb_writer_free(&w);
        return respond_error(&err, out);
    }
    hand_over(&w, out);
    return STRATUS_STATUS_OK;
}

static void ses_destroy(void *instance) {
    free(instance);
}

#ifndef STRATUS_EXAMPLE_NULL_SLOT
/* Every buffer this plugin hands out was allocated with malloc/realloc in
 * pb.c (an empty one is NULL), so free is the matching deallocation. */
static void ses_free_buf(StratusPluginBuf buf) {
    free(buf.ptr);
}
#define SES_FREE_BUF ses_free_buf
#else
/* The broken variant (make null-slot): a table with its free_buf slot
 * empty, for the test that checks the server refuses it and names the slot. */
#define SES_FREE_BUF NULL
#endif

static const StratusPluginApiV1 TABLE = {
    .header =
        {
            .abi_major = STRATUS_ABI_MAJOR,
            .abi_minor = STRATUS_ABI_MINOR,
            .table_size = sizeof(StratusPluginApiV1),
        },
    .describe = ses_describe,
    .create = ses_create,
    .invoke = ses_invoke,
    .destroy = ses_destroy,
    .free_buf = SES_FREE_BUF,
};

/* The one exported symbol (STRATUS_ENTRY_SYMBOL): the v1 table, static for
 * the library's life. */
SES_EXPORT const StratusPluginApiV1 *stratus_plugin_v1(void);

const StratusPluginApiV1 *stratus_plugin_v1(void) {
    return &TABLE;
}
