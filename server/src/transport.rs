//! The server's connections: what each may cost, and one change to how
//! responses are written.
//!
//! Limits ([`ConnectionLimits`], each a flag): at most `--max-connections`
//! open at once (one more is closed on accept, logged at most once a
//! minute); the first bytes (the HTTP/2 preface, or the TLS handshake, which
//! tonic bounds with the same limit; the preface after a handshake falls
//! under the idle limit) must arrive within `--header-read-timeout-ms`; a connection from which nothing
//! has arrived for `--idle-timeout-s` is closed. Live gRPC clients answer
//! the server's keepalive pings, so only dead or deliberately silent peers
//! reach the idle limit. Per-stream limits (concurrent streams, message
//! sizes, slow messages) are HTTP/2's and `request_budget`'s.
//!
//! h2 (the HTTP/2 layer under tonic) copies a DATA frame into its 16 KiB
//! write buffer only if the payload is small, and otherwise chains the
//! payload for a vectored write, one at a time: each larger frame costs a
//! `writev` of its own. The size limit is 256 bytes on sockets that report
//! vectored writes and 1,024 bytes on those that do not. Forecast responses
//! are a few hundred bytes (a naive 6-point forecast is about 770), so on a
//! plain socket every response is its own system call, while health checks
//! (7 bytes) from many streams share one. Reporting the socket as not
//! vectored moves responses up to 1 KiB into the shared buffer: measured with
//! h2load at 64 streams (strace -c), socket writes fell from 1.24 to 0.36 per
//! naive forecast, and calls/s rose 11% (BENCHMARKS.md). Bytes and
//! ordering are unchanged; larger payloads are still written without copying.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::telemetry::Throttle;

/// Bytes a client sends first on an HTTP/2 connection (the preface).
const PREFACE_LEN: usize = 24;

/// What accepted connections may cost; see the module doc.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long the first bytes may take.
    pub header_read_timeout: Duration,
    /// How long a connection may send nothing.
    pub idle_timeout: Duration,
}

/// Admits accepted streams up to the connection cap.
#[derive(Debug, Clone)]
pub struct Admission {
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    refusals: Arc<Throttle>,
}

impl Admission {
    /// An admission gate with `limits`.
    pub fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            slots: Arc::new(Semaphore::new(
                limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
            refusals: Arc::new(Throttle::new(Duration::from_secs(60))),
        }
    }

    /// The connection, or `None` (the stream is dropped, which closes it)
    /// when `--max-connections` are already open.
    pub fn admit(&self, stream: TcpStream) -> Option<Connection> {
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(slot) => Some(Connection::new(stream, slot, self.limits)),
            Err(_) => {
                if let Some(refused) = self.refusals.tick() {
                    tracing::warn!(
                        refused,
                        max_connections = self.limits.max_connections,
                        peer = ?stream.peer_addr().ok(),
                        "connections refused: the server is at --max-connections (logged at most once a minute)"
                    );
                }
                None
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)
            - self.slots.available_permits()
    }
}

/// An accepted TCP connection under [`ConnectionLimits`], which asks h2 to
/// coalesce small frames.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// Holds one of `--max-connections` until the connection closes.
    _slot: OwnedSemaphorePermit,
    limits: ConnectionLimits,
    preface_left: usize,
    last_read: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl Connection {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, limits: ConnectionLimits) -> Self {
        Self {
            stream,
            _slot: slot,
            limits,
            preface_left: PREFACE_LEN,
            last_read: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(limits.header_read_timeout)),
        }
    }

    /// Whether the read deadline has passed (registering a wake-up if not).
    /// The idle deadline is moved forward lazily, only when it fires, so a
    /// busy connection does not touch the timer on every read.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return None;
            }
            if self.preface_left > 0 {
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no complete HTTP/2 preface within {:?} (--header-read-timeout-ms)",
                        self.limits.header_read_timeout
                    ),
                ));
            }
            let idle_until = self.last_read + self.limits.idle_timeout;
            if Instant::now() >= idle_until {
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "nothing received for {:?} (--idle-timeout-s)",
                        self.limits.idle_timeout
                    ),
                ));
            }
            self.deadline.as_mut().reset(idle_until);
        }
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len() - before;
                if read > 0 {
                    this.last_read = Instant::now();
                    if this.preface_left > 0 {
                        this.preface_left = this.preface_left.saturating_sub(read);
                        if this.preface_left == 0 {
                            let idle_until = this.last_read + this.limits.idle_timeout;
                            this.deadline.as_mut().reset(idle_until);
                        }
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.timed_out(cx) {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    /// The point of this type: see the module doc.
    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
