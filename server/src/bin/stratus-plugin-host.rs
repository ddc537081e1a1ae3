//! `stratus-plugin-host`: runs one model library in a process of its own,
//! for a Stratus server running it with process isolation. The server starts
//! it; nobody else should. It finds the library's bytes on descriptor 3 and
//! the server's socket on descriptor 0 (see `stratus_server::plugin::host`).

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
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
    let Some((socket, library)) = descriptors() else {
        eprintln!(
            "stratus-plugin-host: expected the server's socket on descriptor 0 and a library on descriptor {LIBRARY_FD}; it is started by stratus-server, not by hand"
        );
        std::process::exit(2);
    };
    std::process::exit(child::serve(
        socket,
        library,
        &args.library_name,
        args.threads,
    ));
}

/// Takes over the descriptors the server passed, after checking them: the
/// socket moves off descriptor 0 (which gets /dev/null, so a library that
/// reads stdin cannot eat protocol bytes), and neither survives an `exec`
/// by the library (a forked helper holding the socket would hide the
/// host's death from the server).
fn descriptors() -> Option<(UnixStream, File)> {
    // SAFETY: `fstat` and `fcntl` on integers; `stat` is a valid buffer.
    let socket_fd = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(0, &mut stat) != 0 || stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
            return None;
        }
        if libc::fcntl(LIBRARY_FD, libc::F_GETFD) < 0 {
            return None;
        }
        libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 10)
    };
    if socket_fd < 0 {
        return None;
    }
    let null = File::open("/dev/null").ok()?;
    // SAFETY: plain descriptor operations on descriptors this process owns:
    // 0 is replaced by /dev/null (its socket lives on as `socket_fd`), and
    // the library's descriptor is marked close-on-exec.
    unsafe {
        if libc::dup2(null.as_raw_fd(), 0) < 0
            || libc::fcntl(LIBRARY_FD, libc::F_SETFD, libc::FD_CLOEXEC) < 0
        {
            return None;
        }
    }
    // SAFETY: `socket_fd` is a new descriptor of the server's socket, owned
    // by nothing else; LIBRARY_FD was checked open above and is used by
    // nothing else in this process, which now owns it.
    Some(unsafe {
        (
            UnixStream::from_raw_fd(socket_fd),
            File::from_raw_fd(LIBRARY_FD),
        )
    })
}
