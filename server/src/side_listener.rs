//! The small HTTP listeners beside the API (`--metrics-listen`, and the web
//! console): at most `--http-max-connections` connections at a time (more
//! are closed on accept) and each open at most `--http-connection-lifetime-s`,
//! so whoever reaches such a port cannot hold sockets, tasks or memory the
//! way the API's own transport limits prevent for the API.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bounds of a side listener.
#[derive(Debug, Clone, Copy)]
pub struct SideLimits {
    /// Connections open at once; more are closed as they are accepted.
    pub max_connections: usize,
    /// The longest a connection stays open (a scrape takes milliseconds).
    pub lifetime: Duration,
}

/// A TCP listener under [`SideLimits`], for `axum::serve`.
pub struct CappedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    lifetime: Duration,
    refused: crate::telemetry::Throttle,
}

impl CappedListener {
    /// Wraps `inner`.
    pub fn new(inner: TcpListener, limits: SideLimits) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            lifetime: limits.lifetime,
            refused: crate::telemetry::Throttle::new(Duration::from_secs(60)),
        }
    }
}

impl axum::serve::Listener for CappedListener {
    type Io = CappedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, peer) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a reset before accept: wait a
                    // moment rather than spin.
                    tracing::debug!(%error, "side listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => {
                    let expires = Box::pin(tokio::time::sleep(self.lifetime));
                    let io = CappedStream {
                        inner: stream,
                        _permit: permit,
                        expires,
                    };
                    return (io, peer);
                }
                Err(_) => {
                    if let Some(count) = self.refused.tick() {
                        tracing::warn!(
                            %peer,
                            refused = count,
                            "side listener at --http-max-connections: connections closed"
                        );
                    }
                    drop(stream);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that holds one of its listener's permits and fails its
/// reads and writes once its lifetime is over (the server then closes it).
pub struct CappedStream {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
    expires: Pin<Box<tokio::time::Sleep>>,
}

impl CappedStream {
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.expires.as_mut().poll(cx).is_ready()
    }
}

fn lifetime_over() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "connection open longer than --http-connection-lifetime-s",
    )
}

use std::future::Future as _;

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            return Poll::Ready(Err(lifetime_over()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(lifetime_over()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn serve(limits: SideLimits) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move {
            let _ = axum::serve(CappedListener::new(listener, limits), app).await;
        });
        address
    }

    async fn get(address: std::net::SocketAddr) -> String {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let _ = stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await;
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer
    }

    #[tokio::test]
    async fn connections_over_the_cap_are_closed_and_idle_ones_expire() {
        let limits = SideLimits {
            max_connections: 2,
            lifetime: Duration::from_millis(500),
        };
        let address = serve(limits).await;
        assert!(get(address).await.ends_with("ok"));
        // Two silent connections fill the cap: a third is closed unanswered.
        let _a = TcpStream::connect(address).await.expect("connect");
        let _b = TcpStream::connect(address).await.expect("connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(get(address).await, "");
        // Their lifetime ends, their permits return, and scrapes work again.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(get(address).await.ends_with("ok"));
    }
}
