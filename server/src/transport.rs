//! The server's connections, with one change to how responses are written.
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

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An accepted TCP connection that asks h2 to coalesce small frames.
#[derive(Debug)]
pub struct Connection(TcpStream);

impl Connection {
    /// Wraps an accepted stream.
    pub fn new(stream: TcpStream) -> Self {
        Self(stream)
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    /// The point of this type: see the module doc.
    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
