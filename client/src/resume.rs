//! Failover for the streaming RPCs: a stream whose endpoint dies is reopened
//! on another endpoint with the requests it had not answered yet, so no
//! series is lost or answered twice.
//!
//! A stream moves when its connection fails (refused, reset, closed with
//! requests unanswered) or it cannot be opened (the replica is draining); a
//! status the server sends about one of its requests ends it, as without
//! failover. It relies on the API's promise that a stream answers its
//! requests in order, one answer each: every request sent is kept until its answer
//! arrives, and after a failure exactly the unanswered ones are sent again.
//! At most [`WINDOW`] requests are unanswered at a time, which bounds what
//! is kept (and resent) whatever the caller's stream holds.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Status, Streaming};

use crate::cluster::{Backend, Cluster};
use crate::retry::{Retrier, deadline_passed, is_retryable, is_transport_failure};

/// Requests sent and not yet answered, at most. The server works through a
/// stream in batches far smaller than this, so it never waits on the window.
pub(crate) const WINDOW: usize = 256;

/// The answers of a streaming call, in request order; it ends after the
/// last answer, or with the first error (after which nothing follows).
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Starts a streaming call over `requests` that survives its endpoint: see
/// the module documentation. `open` starts the RPC on a channel.
pub(crate) fn stream<Req, Resp, Open, Fut>(
    cluster: Arc<Cluster>,
    retrier: Arc<Retrier>,
    deadline: Option<Instant>,
    requests: impl Stream<Item = Req> + Send + 'static,
    open: Open,
) -> ResponseStream<Resp>
where
    Req: Clone + Send + Sync + 'static,
    Resp: Send + 'static,
    Open: Fn(Channel, tonic::Request<ReceiverStream<Req>>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<Streaming<Resp>>, Status>> + Send,
{
    let (answers, out) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut relay = Relay {
            cluster,
            retrier,
            deadline,
            requests: Box::pin(requests),
            input_done: false,
            unanswered: VecDeque::new(),
            answers,
        };
        if let Err(status) = relay.run(open).await {
            let _ = relay.answers.send(Err(status)).await;
        }
    });
    Box::pin(ReceiverStream::new(out))
}

/// The task between the caller's streams and the server's.
struct Relay<Req, Resp> {
    cluster: Arc<Cluster>,
    retrier: Arc<Retrier>,
    deadline: Option<Instant>,
    requests: Pin<Box<dyn Stream<Item = Req> + Send>>,
    input_done: bool,
    unanswered: VecDeque<Req>,
    answers: mpsc::Sender<Result<Resp, Status>>,
}

/// How one attempt (one server stream) ended.
enum Attempt {
    /// Every request was answered.
    Done,
    /// The endpoint failed with a retryable status; `progress` says whether
    /// it answered anything first.
    Failed { status: Status, progress: bool },
    /// The caller dropped the answers.
    Abandoned,
}

impl<Req, Resp> Relay<Req, Resp>
where
    Req: Clone + Send + Sync + 'static,
    Resp: Send + 'static,
{
    async fn run<Open, Fut>(&mut self, open: Open) -> Result<(), Status>
    where
        Open: Fn(Channel, tonic::Request<ReceiverStream<Req>>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Streaming<Resp>>, Status>>,
    {
        self.retrier.deposit();
        let mut tried: Vec<Arc<Backend>> = Vec::new();
        // Retries since the last answer: a stream that makes progress may
        // move as often as its endpoints die, one that does not gives up.
        let mut retry = 0;
        loop {
            let backend = self.cluster.pick(&tried);
            match self.attempt(&backend, &open).await? {
                Attempt::Done | Attempt::Abandoned => return Ok(()),
                Attempt::Failed { status, progress } => {
                    backend.failed();
                    if progress {
                        retry = 0;
                        tried.clear();
                    }
                    retry += 1;
                    if !self.retrier.allow(retry, &self.cluster) {
                        return Err(status);
                    }
                    let wait = self.retrier.policy.backoff(retry, self.cluster.random());
                    if self.deadline.is_some_and(|d| Instant::now() + wait >= d) {
                        return Err(deadline_passed(Some(status)));
                    }
                    tokio::time::sleep(wait).await;
                    if self.answers.is_closed() {
                        return Ok(());
                    }
                    tried.push(backend);
                    if tried.len() >= self.cluster.backends().len() {
                        tried.clear();
                    }
                }
            }
        }
    }

    /// One server stream: resend the unanswered requests, then relay until
    /// the end or a failure. A non-retryable error is the caller's answer.
    async fn attempt<Open, Fut>(
        &mut self,
        backend: &Arc<Backend>,
        open: &Open,
    ) -> Result<Attempt, Status>
    where
        Open: Fn(Channel, tonic::Request<ReceiverStream<Req>>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Streaming<Resp>>, Status>>,
    {
        let _in_flight = backend.begin();
        let (to_server, from_client) = mpsc::channel(WINDOW);
        for request in &self.unanswered {
            // Cannot be full: it holds WINDOW and `unanswered` no more.
            let _ = to_server.try_send(request.clone());
        }
        let mut to_server = (!self.input_done).then_some(to_server);
        let mut call = tonic::Request::new(ReceiverStream::new(from_client));
        if let Some(deadline) = self.deadline {
            match deadline.checked_duration_since(Instant::now()) {
                Some(remaining) if !remaining.is_zero() => call.set_timeout(remaining),
                _ => return Err(deadline_passed(None)),
            }
        }
        let deadline = self.deadline.map(tokio::time::Instant::from_std);
        let opened = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, open(backend.channel(), call))
                .await
                .unwrap_or_else(|_| Err(deadline_passed(None))),
            None => open(backend.channel(), call).await,
        };
        let mut answers = match opened {
            Ok(response) => response.into_inner(),
            Err(status) if is_retryable(&status) => {
                return Ok(Attempt::Failed {
                    status,
                    progress: false,
                });
            }
            Err(status) => return Err(status),
        };
        let mut progress = false;
        // The server is told the deadline, but it bounds only the start of a
        // stream: the client ends it (and a silent replica's) itself.
        let expired = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expired);
        loop {
            let room = self.unanswered.len() < WINDOW;
            tokio::select! {
                () = &mut expired => return Err(deadline_passed(None)),
                // The caller dropped the answers: stop, whatever is pending.
                () = self.answers.closed() => return Ok(Attempt::Abandoned),
                request = self.requests.next(), if !self.input_done && room => match request {
                    Some(request) => {
                        if let Some(sender) = &to_server {
                            // A closed channel means the server stream ended:
                            // its answers (or error) say how, below.
                            let _ = sender.try_send(request.clone());
                        }
                        self.unanswered.push_back(request);
                    }
                    None => {
                        self.input_done = true;
                        to_server = None;
                    }
                },
                answer = answers.next() => match answer {
                    Some(Ok(answer)) => {
                        self.unanswered.pop_front();
                        if !progress {
                            progress = true;
                            backend.answered();
                        }
                        if self.answers.send(Ok(answer)).await.is_err() {
                            return Ok(Attempt::Abandoned);
                        }
                    }
                    // Mid-stream, only a broken connection moves the stream:
                    // a status the server sent about a request (even
                    // UNAVAILABLE) is its answer, and the request that caused
                    // it would go to the next replica with the rest.
                    Some(Err(status)) if is_transport_failure(&status) => {
                        return Ok(Attempt::Failed { status, progress });
                    }
                    Some(Err(status)) => return Err(status),
                    None if self.input_done && self.unanswered.is_empty() => {
                        return Ok(Attempt::Done);
                    }
                    None => {
                        // The server ended the stream with requests unanswered
                        // and no error: a replica cut off mid-drain.
                        let status = Status::unavailable(format!(
                            "{} ended the stream with {} requests unanswered",
                            backend.url,
                            self.unanswered.len()
                        ));
                        return Ok(Attempt::Failed { status, progress });
                    }
                },
            }
        }
    }
}
