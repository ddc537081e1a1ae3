/*
 * pb.c: a minimal protobuf (proto3) codec for the Stratus plugin wire
 * messages.
 *
 * Why not a library: this plugin must build with nothing but a C compiler
 * and libm, so an author can copy the folder and type `make`. protobuf-c
 * (or nanopb) would add a build dependency, a code generator and generated
 * sources to keep in step with plugin.proto, for the few messages a plugin
 * reads and writes. Decoding and encoding them by hand is short, and the
 * messages are stable: fields may be added to plugin.proto (which this
 * decoder skips) but never renumbered.
 *
 * What it handles:
 *  - Reading: field keys (field numbers 1 to 2^29-1, wire types 0-5);
 *    varints (at most 10 bytes, at most 64 bits); 64-bit fixed values as
 *    doubles; length-delimited fields (strings, embedded messages, and map
 *    entries, which are embedded messages with key = 1 and value = 2);
 *    `repeated double` both packed (one length-delimited run) and unpacked
 *    (one I64 value per occurrence), mixed freely as the spec requires;
 *    UTF-8 validation for string fields; and skipping unknown fields of
 *    every wire type, including groups (nested up to PB_MAX_DEPTH).
 *  - Writing: varint, double and length-delimited fields, and embedded
 *    messages (their length is inserted once their bytes are written), into
 *    a buffer grown with malloc/realloc.
 *
 * What it leaves out: zigzag (sint*) and 32-bit fixed types other than
 * skipping them, floats, packed varints, and code generation. The message
 * layouts themselves (which field number means what) live in wire.c.
 *
 * Safety: every read checks the bytes remaining before it touches them, so a
 * truncated or hostile input (a length running past the end, a varint that
 * never ends, a group that never closes) is reported as an error and never
 * read past. Sizes are checked for overflow before every allocation, and no
 * buffer grows beyond PTRDIFF_MAX (the ABI's limit on a buffer's length).
 */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

pb_reader pb_reader_of(const uint8_t *data, size_t len) {
    pb_reader r;
    r.cur = data;
    r.end = data ? data + len : data;
    return r;
}

int pb_more(const pb_reader *r) {
    return r->cur < r->end;
}

static size_t remaining(const pb_reader *r) {
    return (size_t)(r->end - r->cur);
}

const char *pb_read_varint(pb_reader *r, uint64_t *out) {
    uint64_t value = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->cur >= r->end) {
            return "truncated varint";
        }
        uint8_t byte = *r->cur++;
        /* The tenth byte holds bit 63 only. */
        if (i == 9 && byte > 1) {
            return "varint longer than 64 bits";
        }
        value |= (uint64_t)(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            *out = value;
            return NULL;
        }
    }
    return "varint longer than 10 bytes"; /* unreachable: caught above */
}

const char *pb_read_tag(pb_reader *r, uint32_t *field, uint32_t *wire_type) {
    uint64_t key;
    const char *err = pb_read_varint(r, &key);
    if (err) {
        return err;
    }
    if (key > UINT32_MAX) {
        return "field key out of range";
    }
    uint32_t wt = (uint32_t)(key & 7);
    uint32_t number = (uint32_t)(key >> 3);
    if (number == 0) {
        return "field number 0";
    }
    if (wt > PB_WT_I32) {
        return "invalid wire type";
    }
    *field = number;
    *wire_type = wt;
    return NULL;
}

static const char *read_fixed(pb_reader *r, unsigned n, uint64_t *out) {
    if (remaining(r) < n) {
        return n == 8 ? "truncated 64-bit field" : "truncated 32-bit field";
    }
    uint64_t value = 0;
    for (unsigned i = 0; i < n; i++) {
        value |= (uint64_t)r->cur[i] << (8 * i);
    }
    r->cur += n;
    *out = value;
    return NULL;
}

const char *pb_read_double(pb_reader *r, double *out) {
    uint64_t bits;
    const char *err = read_fixed(r, 8, &bits);
    if (err) {
        return err;
    }
    /* IEEE 754 binary64 in the host's byte order (the wire is little-endian;
     * read_fixed assembled the integer, memcpy reinterprets it). */
    memcpy(out, &bits, sizeof *out);
    return NULL;
}

const char *pb_read_len(pb_reader *r, pb_reader *payload) {
    uint64_t len;
    const char *err = pb_read_varint(r, &len);
    if (err) {
        return err;
    }
    if (len > remaining(r)) {
        return "length-delimited field runs past the end of its message";
    }
    payload->cur = r->cur;
    payload->end = r->cur + (size_t)len;
    r->cur += (size_t)len;
    return NULL;
}

static const char *skip_at(pb_reader *r, uint32_t field, uint32_t wire_type, unsigned depth) {
    uint64_t ignored;
    pb_reader payload;
    switch (wire_type) {
    case PB_WT_VARINT:
        return pb_read_varint(r, &ignored);
    case PB_WT_I64:
        return read_fixed(r, 8, &ignored);
    case PB_WT_LEN:
        return pb_read_len(r, &payload);
    case PB_WT_I32:
        return read_fixed(r, 4, &ignored);
    case PB_WT_SGROUP:
        if (depth >= PB_MAX_DEPTH) {
            return "groups nested too deeply";
        }
        while (pb_more(r)) {
            uint32_t inner, inner_wt;
            const char *err = pb_read_tag(r, &inner, &inner_wt);
            if (err) {
                return err;
            }
            if (inner_wt == PB_WT_EGROUP) {
                return inner == field ? NULL : "group ended with another field's end tag";
            }
            err = skip_at(r, inner, inner_wt, depth + 1);
            if (err) {
                return err;
            }
        }
        return "unterminated group";
    case PB_WT_EGROUP:
        return "end-group tag without a group";
    default:
        return "invalid wire type";
    }
}

const char *pb_skip(pb_reader *r, uint32_t field, uint32_t wire_type) {
    return skip_at(r, field, wire_type, 0);
}

const char *pb_check_utf8(const pb_reader *bytes) {
    const uint8_t *p = bytes->cur;
    const uint8_t *end = bytes->end;
    while (p < end) {
        uint8_t b = *p;
        if (b < 0x80) {
            p++;
            continue;
        }
        size_t need;
        uint32_t cp;
        uint32_t min;
        if ((b & 0xe0) == 0xc0) {
            need = 1, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            need = 2, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            need = 3, cp = b & 0x07, min = 0x10000;
        } else {
            return "string is not valid UTF-8";
        }
        if ((size_t)(end - p) <= need) {
            return "string is not valid UTF-8 (truncated sequence)";
        }
        for (size_t i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return "string is not valid UTF-8";
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return "string is not valid UTF-8 (overlong, surrogate or out of range)";
        }
        p += need + 1;
    }
    return NULL;
}

int pb_vec_reserve(void **items, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) {
        return 1;
    }
    if (size == 0) {
        return 0;
    }
    size_t max_items = (size_t)PTRDIFF_MAX / size;
    if (need > max_items) {
        return 0;
    }
    size_t grown = *cap < 8 ? 8 : *cap;
    if (grown > max_items) {
        grown = max_items;
    }
    while (grown < need) {
        grown = grown > max_items / 2 ? max_items : grown * 2;
    }
    void *moved = realloc(*items, grown * size);
    if (!moved) {
        return 0;
    }
    *items = moved;
    *cap = grown;
    return 1;
}

const char *pb_doubles_push(pb_doubles *a, double x) {
    void *items = a->v;
    if (!pb_vec_reserve(&items, &a->cap, a->n + 1, sizeof(double))) {
        return "out of memory";
    }
    a->v = items;
    a->v[a->n++] = x;
    return NULL;
}

const char *pb_read_doubles(pb_reader *r, uint32_t wire_type, pb_doubles *out) {
    double x;
    const char *err;
    if (wire_type == PB_WT_I64) {
        err = pb_read_double(r, &x);
        return err ? err : pb_doubles_push(out, x);
    }
    if (wire_type != PB_WT_LEN) {
        return "repeated double with a wire type other than I64 or LEN";
    }
    pb_reader packed;
    err = pb_read_len(r, &packed);
    if (err) {
        return err;
    }
    size_t count = remaining(&packed) / 8;
    if (remaining(&packed) % 8 != 0) {
        return "packed doubles whose length is not a multiple of 8";
    }
    void *items = out->v;
    if (!pb_vec_reserve(&items, &out->cap, out->n + count, sizeof(double))) {
        return "out of memory";
    }
    out->v = items;
    while (pb_more(&packed)) {
        err = pb_read_double(&packed, &x);
        if (err) {
            return err;
        }
        out->v[out->n++] = x;
    }
    return NULL;
}

void pb_doubles_free(pb_doubles *a) {
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

/* Makes room for `extra` more bytes; 0 (and the writer failed) if it cannot. */
static int writer_room(pb_writer *w, size_t extra) {
    if (w->failed) {
        return 0;
    }
    if (extra > (size_t)PTRDIFF_MAX - w->len) {
        w->failed = 1;
        return 0;
    }
    size_t need = w->len + extra;
    if (need <= w->cap) {
        return 1;
    }
    void *bytes = w->ptr;
    size_t cap = w->cap;
    if (!pb_vec_reserve(&bytes, &cap, need < 64 ? 64 : need, 1)) {
        w->failed = 1;
        return 0;
    }
    w->ptr = bytes;
    w->cap = cap;
    return 1;
}

void pb_put_raw(pb_writer *w, const void *bytes, size_t n) {
    if (n == 0 || !writer_room(w, n)) {
        return;
    }
    memcpy(w->ptr + w->len, bytes, n);
    w->len += n;
}

/* Encodes a varint into out (10 bytes suffice); returns its length. */
static size_t encode_varint(uint64_t value, uint8_t out[10]) {
    size_t n = 0;
    while (value >= 0x80) {
        out[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    out[n++] = (uint8_t)value;
    return n;
}

static void put_varint(pb_writer *w, uint64_t value) {
    uint8_t bytes[10];
    pb_put_raw(w, bytes, encode_varint(value, bytes));
}

void pb_put_tag(pb_writer *w, uint32_t field, uint32_t wire_type) {
    put_varint(w, ((uint64_t)field << 3) | wire_type);
}

void pb_put_varint_field(pb_writer *w, uint32_t field, uint64_t value) {
    pb_put_tag(w, field, PB_WT_VARINT);
    put_varint(w, value);
}

void pb_put_double_field(pb_writer *w, uint32_t field, double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    uint8_t bytes[8];
    for (unsigned i = 0; i < 8; i++) {
        bytes[i] = (uint8_t)(bits >> (8 * i));
    }
    pb_put_tag(w, field, PB_WT_I64);
    pb_put_raw(w, bytes, sizeof bytes);
}

void pb_put_bytes_field(pb_writer *w, uint32_t field, const void *bytes, size_t n) {
    pb_put_tag(w, field, PB_WT_LEN);
    put_varint(w, n);
    pb_put_raw(w, bytes, n);
}

void pb_put_string_field(pb_writer *w, uint32_t field, const char *text) {
    pb_put_bytes_field(w, field, text, strlen(text));
}

size_t pb_begin_message(pb_writer *w, uint32_t field) {
    pb_put_tag(w, field, PB_WT_LEN);
    return w->len;
}

void pb_end_message(pb_writer *w, size_t mark) {
    if (w->failed || mark > w->len) {
        return;
    }
    size_t body = w->len - mark;
    uint8_t prefix[10];
    size_t n = encode_varint(body, prefix);
    if (!writer_room(w, n)) {
        return;
    }
    /* Shift the message's bytes right and put its length in front. */
    memmove(w->ptr + mark + n, w->ptr + mark, body);
    memcpy(w->ptr + mark, prefix, n);
    w->len += n;
}

void pb_writer_free(pb_writer *w) {
    free(w->ptr);
    w->ptr = NULL;
    w->len = w->cap = 0;
    w->failed = 0;
}
