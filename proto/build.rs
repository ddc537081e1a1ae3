//! Compiles `stratus/**/*.proto` with protox (a pure-Rust protoc), so building
//! needs no system `protoc`.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PLUGIN_PROTOS: &[&str] = &["stratus/plugin/v1/plugin.proto"];
const API_PROTOS: &[&str] = &[
    "stratus/v1/series.proto",
    "stratus/v1/model.proto",
    "stratus/v1/forecast.proto",
    "stratus/v1/risk.proto",
    "stratus/v1/dataset.proto",
    "stratus/v1/evaluation.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let api = env::var_os("CARGO_FEATURE_API").is_some();
    println!("cargo:rerun-if-changed=stratus");

    let mut files: Vec<&str> = PLUGIN_PROTOS.to_vec();
    if api {
        files.extend_from_slice(API_PROTOS);
    }
    let fds = protox::compile(&files, ["."])?;

    tonic_prost_build::configure()
        .build_client(api)
        .build_server(api)
        // pbjson's serde impls need its own well-known types.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(fds.clone())?;

    if api {
        let descriptor_bytes = fds.encode_to_vec();
        fs::write(out_dir.join("stratus_descriptor.bin"), &descriptor_bytes)?;
        pbjson_build::Builder::new()
            .register_descriptors(&descriptor_bytes)?
            .build(&[".stratus.v1"])?;
    }
    Ok(())
}
