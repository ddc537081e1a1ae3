//! `stratus-plugin-host`: runs one model library in a process of its own,
//! for a Stratus server running it with process isolation. The server starts
//! it; nobody else should. It finds the library's bytes on descriptor 3 and
//! the server's socket on descriptor 0 (see `stratus_server::plugin::host`).

use std::fs::File;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use clap::Parser;
use stratus_server::plugin::host::{child, supervisor::LIBRARY_FD};

/// Runs one model library for a Stratus server (started by the server).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The library's file in the server's plugin folder, for messages.
    #[arg(long)]
    library_name: PathBuf,
    /// Calls to run at once.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() {
    let args = Args::parse();
    // SAFETY: by the host protocol, the server starts this process with its
    // socket as descriptor 0 and the library's private copy as descriptor
    // 3, both open and owned by this process from now on; nothing else in
    // this process uses them.
    let (socket, library) = unsafe { (UnixStream::from_raw_fd(0), File::from_raw_fd(LIBRARY_FD)) };
    std::process::exit(child::serve(
        socket,
        library,
        &args.library_name,
        args.threads,
    ));
}
