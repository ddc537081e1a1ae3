/*
 * pb.h: a minimal protobuf codec, just enough for the Stratus plugin wire
 * messages (proto/stratus/plugin/v1/plugin.proto). See pb.c for its scope
 * and why it exists instead of a library.
 *
 * Conventions:
 *  - Decoding functions return NULL on success, or a static string saying
 *    what was wrong with the input ("truncated varint", ...). They never read
 *    outside [cur, end) of their reader, and never allocate except where
 *    stated (pb_read_doubles, pb_vec_reserve).
 *  - The writer is sticky on failure: once an allocation fails or the buffer
 *    would exceed PTRDIFF_MAX, every later write is a no-op and `failed` is
 *    set. Check it once at the end.
 */
#ifndef STRATUS_C_EXAMPLE_PB_H
#define STRATUS_C_EXAMPLE_PB_H

#include <stddef.h>
#include <stdint.h>

/* Wire types (the low 3 bits of a tag). */
enum {
    PB_WT_VARINT = 0, /* int32, uint32, uint64, bool, enum */
    PB_WT_I64 = 1,    /* fixed64, sfixed64, double */
    PB_WT_LEN = 2,    /* string, bytes, message, packed repeated */
    PB_WT_SGROUP = 3, /* start of a (deprecated) group */
    PB_WT_EGROUP = 4, /* end of a group */
    PB_WT_I32 = 5     /* fixed32, sfixed32, float */
};

/* The largest field number protobuf allows (2^29 - 1). */
#define PB_MAX_FIELD 536870911u
/* How deeply groups may nest while being skipped. */
#define PB_MAX_DEPTH 64

/* A window of input bytes: [cur, end). */
typedef struct pb_reader {
    const uint8_t *cur;
    const uint8_t *end;
} pb_reader;

/* A reader over len bytes at data (data may be NULL when len is 0). */
pb_reader pb_reader_of(const uint8_t *data, size_t len);
/* Non-zero while bytes remain. */
int pb_more(const pb_reader *r);

/* A base-128 varint of at most 10 bytes whose value fits in 64 bits. */
const char *pb_read_varint(pb_reader *r, uint64_t *out);
/* A field key: field number in [1, PB_MAX_FIELD], wire type 0..5. */
const char *pb_read_tag(pb_reader *r, uint32_t *field, uint32_t *wire_type);
/* 8 little-endian bytes as a double (wire type I64). */
const char *pb_read_double(pb_reader *r, double *out);
/* A length-delimited payload: *payload becomes a reader over exactly its
 * bytes and r moves past them. */
const char *pb_read_len(pb_reader *r, pb_reader *payload);
/* Skips the value of an unknown field whose tag was just read, of any wire
 * type (a group is skipped up to its matching end tag). */
const char *pb_skip(pb_reader *r, uint32_t field, uint32_t wire_type);
/* Checks that bytes are well-formed UTF-8 (proto3 `string` fields must be). */
const char *pb_check_utf8(const pb_reader *bytes);

/* A growable array of doubles (malloc'd; free with pb_doubles_free). */
typedef struct pb_doubles {
    double *v;
    size_t n;
    size_t cap;
} pb_doubles;

/* Appends a value (returns a message if memory runs out). */
const char *pb_doubles_push(pb_doubles *a, double x);
/* Appends a `repeated double` field's value whose tag (with wire_type) was
 * just read: one double (unpacked, I64) or a packed run (LEN). */
const char *pb_read_doubles(pb_reader *r, uint32_t wire_type, pb_doubles *out);
void pb_doubles_free(pb_doubles *a);

/* Makes room for at least `need` elements of `size` bytes in *items (a
 * malloc'd array of *cap elements, possibly NULL), growing geometrically.
 * Returns non-zero on success; on failure *items is left as it was. */
int pb_vec_reserve(void **items, size_t *cap, size_t need, size_t size);

/* An output buffer (malloc'd; its ownership passes to the host as a
 * StratusPluginBuf and comes back to free_buf). */
typedef struct pb_writer {
    uint8_t *ptr;
    size_t len;
    size_t cap;
    int failed;
} pb_writer;

/* Raw bytes. */
void pb_put_raw(pb_writer *w, const void *bytes, size_t n);
/* A field key. */
void pb_put_tag(pb_writer *w, uint32_t field, uint32_t wire_type);
/* A varint field (uint32, uint64, enum, bool). */
void pb_put_varint_field(pb_writer *w, uint32_t field, uint64_t value);
/* A double field. Written even when zero: proto3 readers accept that. */
void pb_put_double_field(pb_writer *w, uint32_t field, double value);
/* A string (or bytes) field of n bytes. */
void pb_put_bytes_field(pb_writer *w, uint32_t field, const void *bytes, size_t n);
/* A string field from a NUL-terminated string. */
void pb_put_string_field(pb_writer *w, uint32_t field, const char *text);
/* Starts an embedded message: writes the tag and returns a mark to pass to
 * pb_end_message once the message's fields are written. */
size_t pb_begin_message(pb_writer *w, uint32_t field);
/* Ends an embedded message: inserts its length before its bytes. */
void pb_end_message(pb_writer *w, size_t mark);
/* Frees the buffer and resets the writer. */
void pb_writer_free(pb_writer *w);

#endif /* STRATUS_C_EXAMPLE_PB_H */
