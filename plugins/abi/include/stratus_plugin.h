/*
 * stratus_plugin.h: the Stratus plugin ABI, version 1, for C and C++.
 *
 * A plugin is a shared library that exports one function,
 * stratus_plugin_v1(), returning a pointer to a static StratusPluginApiV1
 * table. Requests and responses cross the table as protobuf bytes of the
 * messages in proto/stratus/plugin/v1/plugin.proto.
 *
 * The same contract is defined in Rust by the stratus-plugin-abi crate
 * (plugins/abi/src/table.rs); a test in that crate compiles this header and
 * checks every size, offset and constant against the Rust definitions.
 *
 * Rules:
 *  - The table begins with StratusAbiHeader. The host refuses another major
 *    version and a table smaller than the one it was built against.
 *  - Every slot must be non-NULL; the host refuses a table with a NULL slot
 *    and names it.
 *  - Bytes the host lends (config, request) are read-only and valid only for
 *    the duration of the call.
 *  - Every StratusPluginBuf the plugin writes stays owned by the plugin. The
 *    host reads it in place and then passes it back to free_buf. len must not
 *    exceed PTRDIFF_MAX, and ptr may be NULL only when len is 0.
 *  - Functions return STRATUS_STATUS_OK (the buffer holds the encoded
 *    response) or STRATUS_STATUS_ERROR (the buffer holds an encoded
 *    stratus.plugin.v1.PluginError). No C++ exception may escape them.
 *  - invoke may be called from many threads at once on one instance.
 */
#ifndef STRATUS_PLUGIN_H
#define STRATUS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The major ABI version; part of the entry symbol's name. */
#define STRATUS_ABI_MAJOR 1u
/* The minor ABI version: fields appended to the table bump it. */
#define STRATUS_ABI_MINOR 0u
/* The name of the function every v1 plugin exports. */
#define STRATUS_ENTRY_SYMBOL "stratus_plugin_v1"

/* Success: the output buffer holds the encoded response. */
#define STRATUS_STATUS_OK 0
/* Failure: the output buffer holds an encoded PluginError. */
#define STRATUS_STATUS_ERROR 1

/* The first bytes of every table, whatever its version. */
typedef struct StratusAbiHeader {
    /* Must equal the host's STRATUS_ABI_MAJOR. */
    uint32_t abi_major;
    /* The plugin's minor version; informative. */
    uint32_t abi_minor;
    /* sizeof the whole table, so later minors can append fields. */
    size_t table_size;
} StratusAbiHeader;

/* Bytes owned by the plugin and lent to the host until it calls free_buf. */
typedef struct StratusPluginBuf {
    /* Start of the bytes; NULL for an empty buffer. */
    uint8_t *ptr;
    /* Number of valid bytes. */
    size_t len;
    /* Allocation size, for the plugin's own deallocation. */
    size_t cap;
} StratusPluginBuf;

/* Writes the encoded ModelDescription into *out. */
typedef int32_t (*StratusDescribeFn)(StratusPluginBuf *out);
/* Builds an instance from an encoded PluginConfig. On success writes an
 * opaque handle into *instance; on failure a PluginError into *error. */
typedef int32_t (*StratusCreateFn)(const uint8_t *config, size_t config_len,
                                   void **instance, StratusPluginBuf *error);
/* Runs an encoded InvokeRequest; writes an InvokeResponse (or a PluginError)
 * into *out. Safe to call concurrently on one instance. */
typedef int32_t (*StratusInvokeFn)(const void *instance, const uint8_t *request,
                                   size_t request_len, StratusPluginBuf *out);
/* Drops an instance made by create; the handle is invalid afterwards. */
typedef void (*StratusDestroyFn)(void *instance);
/* Frees a buffer this plugin wrote (passed by value). */
typedef void (*StratusFreeBufFn)(StratusPluginBuf buf);

/* The v1 function table. */
typedef struct StratusPluginApiV1 {
    StratusAbiHeader header;
    StratusDescribeFn describe;
    StratusCreateFn create;
    StratusInvokeFn invoke;
    StratusDestroyFn destroy;
    StratusFreeBufFn free_buf;
} StratusPluginApiV1;

/* The entry point's signature: returns a table that lives as long as the
 * library is loaded. */
typedef const StratusPluginApiV1 *(*StratusEntryPoint)(void);

#ifdef __cplusplus
}
#endif

#endif /* STRATUS_PLUGIN_H */
