//! Sending checked series through ForecastStream so that none is lost.
//!
//! A stream ends at its first error, so a refusal of one series would
//! silently take every later series with it. Each stream's series are
//! therefore tracked until answered: when the stream ends with a status
//! naming one series (the server prefixes it with the `request_id`, here
//! the series' position), that series is recorded as failed with the reason
//! and a new stream carries the rest. A status about the request itself
//! (unknown model, bad horizon or parameter) or about no series at all (the
//! server unreachable, the deadline passed) would fail every series the same
//! way, so it stops the run instead, and every unanswered series is reported
//! with it.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use stratus_client::{StratusClient, proto};
use tonic::Code;
use tonic_types::StatusExt as _;

use super::read::{Checked, Labels};
use crate::render;

/// A checked series and its id.
pub struct Ready {
    pub id: String,
    pub series: Checked,
}

/// What one series came to.
pub type Outcome = Result<proto::ForecastResponse, String>;

/// What every stream of a run shares.
pub struct Sender {
    /// One per connection; chunk `k` streams over `clients[k % len]`.
    clients: Vec<StratusClient>,
    /// The request every series is sent in (no source, no request_id).
    template: proto::ForecastRequest,
    /// The checked series, in input order; a series' request_id is its
    /// index here.
    series: Arc<Vec<Ready>>,
    progress: indicatif::ProgressBar,
    /// Set by the first error that fails every series alike: later
    /// streams are not opened, their series are failed with it.
    stopped: Mutex<Option<String>>,
}

/// Whom a stream's error is about.
#[derive(Debug, PartialEq)]
enum Blame {
    /// The series at this index, and only it.
    Series(usize, String),
    /// Every series alike.
    All(String),
}

impl Sender {
    pub fn new(
        clients: Vec<StratusClient>,
        template: proto::ForecastRequest,
        series: Arc<Vec<Ready>>,
        progress: indicatif::ProgressBar,
    ) -> Self {
        Self {
            clients,
            template,
            series,
            progress,
            stopped: Mutex::new(None),
        }
    }

    fn stop_reason(&self) -> Option<String> {
        self.stopped.lock().ok().and_then(|reason| reason.clone())
    }

    fn stop(&self, reason: &str) {
        if let Ok(mut stopped) = self.stopped.lock() {
            stopped.get_or_insert_with(|| reason.to_owned());
        }
    }

    /// Forecasts the series in `range` (chunk number `chunk`), reopening
    /// the stream after each series the server refuses. Returns one outcome
    /// per series, in order.
    pub async fn run(&self, chunk: usize, range: Range<usize>) -> Vec<Outcome> {
        let client = &self.clients[chunk % self.clients.len()];
        let start = range.start;
        let mut outcomes: Vec<Option<Outcome>> = range.clone().map(|_| None).collect();
        let mut remaining: VecDeque<usize> = range.collect();
        while !remaining.is_empty() {
            if let Some(reason) = self.stop_reason() {
                self.fail_all(&mut remaining, &mut outcomes, start, &reason);
                break;
            }
            match self
                .attempt(client, &mut remaining, &mut outcomes, start)
                .await
            {
                None => {}
                Some(Blame::Series(index, reason)) => {
                    if let Some(at) = remaining.iter().position(|&i| i == index) {
                        remaining.remove(at);
                        outcomes[index - start] = Some(Err(reason));
                        self.progress.inc(1);
                    }
                }
                Some(Blame::All(reason)) => {
                    self.stop(&reason);
                    self.fail_all(&mut remaining, &mut outcomes, start, &reason);
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err("not answered".to_owned())))
            .collect()
    }

    /// One stream over the `remaining` series: answers are recorded and
    /// taken off the front; the error that ended it, if any, is returned.
    async fn attempt(
        &self,
        client: &StratusClient,
        remaining: &mut VecDeque<usize>,
        outcomes: &mut [Option<Outcome>],
        start: usize,
    ) -> Option<Blame> {
        let (template, series) = (self.template.clone(), Arc::clone(&self.series));
        let order: Vec<usize> = remaining.iter().copied().collect();
        let mut labels = Labels::default();
        let requests = futures::stream::iter(order.into_iter().map(move |i| {
            let mut request = template.clone();
            let ready = &series[i];
            request.source = Some(proto::forecast_request::Source::Series(
                ready.series.to_series(&ready.id, &mut labels),
            ));
            request.request_id = i.to_string();
            request
        }));
        let mut answers = match client.forecast_stream(requests).await {
            Ok(answers) => answers,
            Err(status) => return Some(Blame::All(render::status(&status))),
        };
        while let Some(answer) = answers.next().await {
            match answer {
                Ok(response) => {
                    // Answers come in request order; the id says so too.
                    let Some(&index) = remaining.front() else {
                        return Some(Blame::All(
                            "the server answered more requests than were sent".to_owned(),
                        ));
                    };
                    if response.request_id != index.to_string() {
                        return Some(Blame::All(format!(
                            "the server answered request '{}' where '{index}' was due (answers must keep request order)",
                            response.request_id
                        )));
                    }
                    remaining.pop_front();
                    outcomes[index - start] = Some(Ok(response));
                    self.progress.inc(1);
                }
                Err(status) => return Some(blame(&status, remaining)),
            }
        }
        if remaining.is_empty() {
            None
        } else {
            Some(Blame::All(format!(
                "the server ended the stream with {} series unanswered",
                remaining.len()
            )))
        }
    }

    fn fail_all(
        &self,
        remaining: &mut VecDeque<usize>,
        outcomes: &mut [Option<Outcome>],
        start: usize,
        reason: &str,
    ) {
        for index in remaining.drain(..) {
            outcomes[index - start] = Some(Err(reason.to_owned()));
            self.progress.inc(1);
        }
    }
}

/// Whom a stream's error is about; see the module documentation. Only a
/// series of this stream still unanswered (`remaining`) can be blamed: an
/// error naming any other id (never sent, or already answered) blames all,
/// or the stream would be reopened for ever without progress.
fn blame(status: &tonic::Status, remaining: &VecDeque<usize>) -> Blame {
    let message = status.message();
    let parsed = message
        .strip_prefix("request_id '")
        .and_then(|rest| rest.split_once("': "))
        .and_then(|(id, rest)| Some((id.parse::<usize>().ok()?, rest)));
    let Some((index, rest)) = parsed.filter(|(index, _)| remaining.contains(index)) else {
        return Blame::All(render::status(status));
    };
    // Our request_id means nothing to the reader; the reason does.
    let reason = format!("{}: {rest}", render::code_name(status.code()));
    let about_series = match status.code() {
        // The model or the caller: the same for every series.
        Code::NotFound
        | Code::FailedPrecondition
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::Unimplemented => false,
        // A refused field: the series' own (`series...`), or one every
        // request shares (horizon, levels, params, model, ensemble).
        Code::InvalidArgument | Code::ResourceExhausted | Code::OutOfRange => {
            let fields: Vec<String> = status
                .get_details_bad_request()
                .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
                .unwrap_or_default();
            if fields.is_empty() {
                // Messages start with the field they are about.
                rest.split(':')
                    .next()
                    .is_some_and(|f| f.starts_with("series"))
            } else {
                fields.iter().all(|f| f.starts_with("series"))
            }
        }
        // The model failed on this series' data (or its process died on it).
        _ => true,
    };
    if about_series {
        Blame::Series(index, reason)
    } else {
        Blame::All(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Status;

    /// A stream whose series 0..10 are all unanswered.
    fn unanswered() -> VecDeque<usize> {
        (0..10).collect()
    }

    #[test]
    fn a_series_field_blames_that_series() {
        let status = Status::invalid_argument(
            "request_id '7': series.observations: naive needs at least 3 observations",
        );
        assert_eq!(
            blame(&status, &unanswered()),
            Blame::Series(
                7,
                "INVALID_ARGUMENT: series.observations: naive needs at least 3 observations".into()
            )
        );
        let failed = Status::internal("request_id '2': model naive failed: panic");
        assert!(matches!(blame(&failed, &unanswered()), Blame::Series(2, _)));
    }

    #[test]
    fn shared_fields_and_unnamed_errors_blame_all() {
        for status in [
            Status::invalid_argument("request_id '0': horizon: must be at least 1"),
            Status::invalid_argument("request_id '0': params[foo]: unknown parameter"),
            Status::not_found("request_id '0': model.name: no model 'nave' is loaded"),
            Status::deadline_exceeded("the call's deadline passed"),
            // An id this run never sent.
            Status::invalid_argument("request_id '99': series.name: too long"),
        ] {
            assert!(
                matches!(blame(&status, &unanswered()), Blame::All(_)),
                "{}",
                status.message()
            );
        }
    }

    #[test]
    fn an_error_naming_an_answered_series_blames_all() {
        // Series 0..3 were answered; an error still naming 2 cannot be
        // about it, and blaming it again would reopen the stream for ever.
        let remaining: VecDeque<usize> = (3..10).collect();
        let status = Status::internal("request_id '2': model naive failed: panic");
        assert!(matches!(blame(&status, &remaining), Blame::All(_)));
        assert!(matches!(
            blame(
                &Status::internal("request_id '3': model naive failed"),
                &remaining
            ),
            Blame::Series(3, _)
        ));
    }
}
