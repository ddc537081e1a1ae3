//! The C header must describe the same table as the Rust definitions: this
//! test compiles a program against `include/stratus_plugin.h` with the
//! system C compiler and compares every size, offset and constant it prints
//! with the Rust side. A field added to one and not the other fails here.

use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use stratus_plugin_abi::{
    ABI_MAJOR, ABI_MINOR, AbiHeader, ENTRY_SYMBOL, PluginApiV1, PluginBuf, STATUS_ERROR, STATUS_OK,
};

const PROBE: &str = r#"
#include <stdio.h>
#include <string.h>
#include "stratus_plugin.h"
#define FIELD(t, f) printf(#t "." #f "=%zu\n", offsetof(t, f))
int main(void) {
    printf("StratusAbiHeader=%zu\n", sizeof(StratusAbiHeader));
    FIELD(StratusAbiHeader, abi_major);
    FIELD(StratusAbiHeader, abi_minor);
    FIELD(StratusAbiHeader, table_size);
    printf("StratusPluginBuf=%zu\n", sizeof(StratusPluginBuf));
    FIELD(StratusPluginBuf, ptr);
    FIELD(StratusPluginBuf, len);
    FIELD(StratusPluginBuf, cap);
    printf("StratusPluginApiV1=%zu\n", sizeof(StratusPluginApiV1));
    FIELD(StratusPluginApiV1, header);
    FIELD(StratusPluginApiV1, describe);
    FIELD(StratusPluginApiV1, create);
    FIELD(StratusPluginApiV1, invoke);
    FIELD(StratusPluginApiV1, destroy);
    FIELD(StratusPluginApiV1, free_buf);
    printf("major=%u\nminor=%u\n", STRATUS_ABI_MAJOR, STRATUS_ABI_MINOR);
    printf("ok=%d\nerror=%d\n", STRATUS_STATUS_OK, STRATUS_STATUS_ERROR);
    printf("symbol=%s\n", STRATUS_ENTRY_SYMBOL);
    return 0;
}
"#;

fn expected() -> String {
    let symbol = std::str::from_utf8(&ENTRY_SYMBOL[..ENTRY_SYMBOL.len() - 1]).unwrap();
    let lines = [
        format!("StratusAbiHeader={}", size_of::<AbiHeader>()),
        format!(
            "StratusAbiHeader.abi_major={}",
            offset_of!(AbiHeader, abi_major)
        ),
        format!(
            "StratusAbiHeader.abi_minor={}",
            offset_of!(AbiHeader, abi_minor)
        ),
        format!(
            "StratusAbiHeader.table_size={}",
            offset_of!(AbiHeader, table_size)
        ),
        format!("StratusPluginBuf={}", size_of::<PluginBuf>()),
        format!("StratusPluginBuf.ptr={}", offset_of!(PluginBuf, ptr)),
        format!("StratusPluginBuf.len={}", offset_of!(PluginBuf, len)),
        format!("StratusPluginBuf.cap={}", offset_of!(PluginBuf, cap)),
        format!("StratusPluginApiV1={}", size_of::<PluginApiV1>()),
        format!(
            "StratusPluginApiV1.header={}",
            offset_of!(PluginApiV1, header)
        ),
        format!(
            "StratusPluginApiV1.describe={}",
            offset_of!(PluginApiV1, describe)
        ),
        format!(
            "StratusPluginApiV1.create={}",
            offset_of!(PluginApiV1, create)
        ),
        format!(
            "StratusPluginApiV1.invoke={}",
            offset_of!(PluginApiV1, invoke)
        ),
        format!(
            "StratusPluginApiV1.destroy={}",
            offset_of!(PluginApiV1, destroy)
        ),
        format!(
            "StratusPluginApiV1.free_buf={}",
            offset_of!(PluginApiV1, free_buf)
        ),
        format!("major={ABI_MAJOR}"),
        format!("minor={ABI_MINOR}"),
        format!("ok={STATUS_OK}"),
        format!("error={STATUS_ERROR}"),
        format!("symbol={symbol}"),
    ];
    lines.join("\n") + "\n"
}

#[test]
fn the_c_header_matches_the_rust_table() {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include");
    let dir = std::env::temp_dir().join(format!("stratus-abi-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("probe.c");
    let binary = dir.join("probe");
    std::fs::write(&source, PROBE).unwrap();
    // CC may be a command line (`ccache cc`): run its first word with the rest.
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut words = cc.split_whitespace();
    let built = Command::new(words.next().unwrap_or("cc"))
        .args(words)
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler `{cc}` (set CC to another): {e}"));
    assert!(built.success(), "the header does not compile");
    let output = Command::new(&binary).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected());
}
