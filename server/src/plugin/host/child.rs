//! The plugin host process's side: load one library from the descriptor the
//! server passed, say `HELLO`, then answer calls from the socket.
//!
//! Calls run on a few worker threads so one slow call does not hold up the
//! others (the ABI allows concurrent `invoke` on one instance); answers leave
//! as they finish, matched to calls by id. The plugin's bytes are forwarded
//! undecoded: the server decodes them exactly as it would in process. When
//! the socket closes (the server is gone or dropped this host) the process
//! exits; a crash of the library ends it too, which is the point.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use prost::Message;

use super::protocol::{self, Frame, Kind, STATUS_ERROR, STATUS_OK};
use crate::plugin::library::{self, PluginInstance, PrivateCopy};

/// Loads the library whose bytes are `file` (shown to operators as
/// `display`), then serves `socket` on `threads` threads until it closes,
/// when it exits the process (status 0). Returns only if the library cannot
/// be loaded, with the exit status for that: 2.
pub fn serve(socket: UnixStream, file: File, display: &Path, threads: usize) -> i32 {
    let Ok(writer) = socket.try_clone() else {
        return 2;
    };
    let reader_fd = socket.as_raw_fd();
    let writer = Arc::new(Mutex::new(BufWriter::new(writer)));
    let say = |id: u64, kind: Kind, payload: &[u8]| {
        let mut out = writer.lock().unwrap_or_else(PoisonError::into_inner);
        protocol::write_frame(&mut *out, id, kind, payload)
    };
    let loaded = library::open(display, PrivateCopy::inherited(file)).and_then(|opened| {
        let instance = opened.instantiate()?;
        Ok((opened, instance))
    });
    let (opened, instance) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            let _ = say(0, Kind::Failed, error.to_string().as_bytes());
            return 2;
        }
    };
    let (major, minor) = opened
        .abi_version
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .unwrap_or((0, 0));
    let mut hello = Vec::new();
    hello.extend_from_slice(&major.to_le_bytes());
    hello.extend_from_slice(&minor.to_le_bytes());
    hello.extend_from_slice(&opened.description.encode_to_vec());
    if say(0, Kind::Hello, &hello).is_err() {
        return 0;
    }

    watch_hangup(reader_fd);
    // Leader/followers: every worker reads the next frame itself, under a
    // lock, and runs it. A reader thread handing frames to workers would add
    // a thread wake-up to every call, which on a loaded machine costs more
    // than a cheap model's arithmetic.
    let instance = Arc::new(instance);
    let reader = Arc::new(Mutex::new(BufReader::new(socket)));
    let work = move || {
        loop {
            let frame = {
                let mut reader = reader.lock().unwrap_or_else(PoisonError::into_inner);
                protocol::read_frame(&mut *reader, protocol::MAX_FRAME)
            };
            let Ok(Some(frame)) = frame else {
                // The server is gone or dropped this host: nobody can use an
                // answer, so exit now rather than wait for calls in flight
                // on other workers (one may never return).
                leave();
            };
            let (kind, payload) = answer(&instance, &frame);
            let mut out = writer.lock().unwrap_or_else(PoisonError::into_inner);
            if protocol::write_frame(&mut *out, frame.id, kind, &payload).is_err() {
                leave();
            }
        }
    };
    for _ in 1..threads.max(1) {
        let work = work.clone();
        if std::thread::Builder::new()
            .name("stratus-host-worker".into())
            .spawn(work)
            .is_err()
        {
            break;
        }
    }
    work()
}

/// Ends the process at once, without running the library's destructors
/// (other workers may still be inside it).
fn leave() -> ! {
    // SAFETY: `_exit` ends the process; it has no preconditions.
    unsafe { libc::_exit(0) }
}

/// Ends the process when the server hangs up, even while every worker is
/// busy in the library (a spin would otherwise keep an orphan alive).
fn watch_hangup(socket: RawFd) {
    let _ = std::thread::Builder::new()
        .name("stratus-host-hangup".into())
        .spawn(move || {
            loop {
                let mut poll = libc::pollfd {
                    fd: socket,
                    events: libc::POLLRDHUP,
                    revents: 0,
                };
                // SAFETY: `poll` is a valid pollfd for the call, and the
                // descriptor stays open for the life of the process.
                let ready = unsafe { libc::poll(&mut poll, 1, -1) };
                if ready > 0
                    && poll.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
                {
                    leave();
                }
            }
        });
}

/// The answer frame for a `Call` or `Batch` frame.
fn answer(instance: &PluginInstance, frame: &Frame) -> (Kind, Vec<u8>) {
    match frame.kind {
        Kind::Call => {
            let (status, bytes) = call(instance, &frame.payload);
            let mut payload = Vec::with_capacity(1 + bytes.len());
            payload.push(status);
            payload.extend_from_slice(&bytes);
            (Kind::Answer, payload)
        }
        Kind::Batch => {
            let answers: Vec<(u8, Vec<u8>)> =
                match protocol::unpack(&frame.payload, false, usize::MAX) {
                    Ok(calls) => calls
                        .iter()
                        .map(|(_, request)| call(instance, request))
                        .collect(),
                    Err(e) => vec![host_error(&format!("a batch that does not parse: {e}"))],
                };
            let packed = protocol::pack(answers.iter().map(|(s, b)| (Some(*s), b.as_slice())));
            (Kind::Answers, packed)
        }
        other => {
            let (status, bytes) = host_error(&format!("a {other:?} frame sent to a plugin host"));
            let mut payload = vec![status];
            payload.extend_from_slice(&bytes);
            (Kind::Answer, payload)
        }
    }
}

/// One call through the library's table: the ABI status and the plugin's
/// bytes, or an error of the host's own as a `PluginError`.
fn call(instance: &PluginInstance, request: &[u8]) -> (u8, Vec<u8>) {
    match instance.invoke_raw(request) {
        Ok((status, bytes)) => match u8::try_from(status) {
            Ok(status @ (STATUS_OK | STATUS_ERROR)) => (status, bytes),
            _ => host_error(&format!(
                "the plugin returned status {status}, which the ABI does not define"
            )),
        },
        Err(garbage) => host_error(&format!("the plugin {garbage}")),
    }
}

fn host_error(message: &str) -> (u8, Vec<u8>) {
    use stratus_plugin_abi::wire;
    let error = wire::PluginError {
        code: wire::plugin_error::Code::Internal as i32,
        message: message.to_owned(),
        field: String::new(),
    };
    (STATUS_ERROR, error.encode_to_vec())
}
