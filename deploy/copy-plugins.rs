//! `copy-plugins SRC DST`: copies the regular files of SRC into DST.
//!
//! The Kubernetes init container runs this to fill the pod's plugin volume
//! from the libraries baked into the image. It exists because the runtime
//! image is distroless: no shell, no `cp`. Built by deploy/Dockerfile with
//! plain `rustc` (no dependencies; not a workspace member).
//!
//! Symlinks and subfolders are skipped: the server refuses symlinks and
//! never looks into subfolders. Each file is written under a hidden name and
//! renamed into place, the way the server expects a deploy tool to publish a
//! library (a half-written hidden file is never a candidate).

use std::{env, fs, path::Path, process::ExitCode};

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<usize> {
    let mut copied = 0;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name();
        let hidden = dst.join(format!(".{}.tmp", name.to_string_lossy()));
        fs::copy(entry.path(), &hidden)?;
        fs::rename(&hidden, dst.join(&name))?;
        println!("copied {}", name.to_string_lossy());
        copied += 1;
    }
    Ok(copied)
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        eprintln!("usage: copy-plugins SRC DST");
        return ExitCode::from(2);
    };
    match copy_dir(Path::new(src), Path::new(dst)) {
        // An empty source is a broken image, not an empty deployment.
        Ok(0) => {
            eprintln!("copy-plugins: no files in {src}");
            ExitCode::FAILURE
        }
        Ok(n) => {
            println!("{n} files copied from {src} to {dst}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("copy-plugins: {src} -> {dst}: {e}");
            ExitCode::FAILURE
        }
    }
}
