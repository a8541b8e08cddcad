//! What a failed request leads to: the retry table, as data.
//!
//! Every failure of a step goes through [`decide`], which reads [`TABLE`]
//! top to bottom and takes the first row that matches. The table below is
//! rendered from [`TABLE`] itself (a test keeps the two the same):
//!
#![doc = include_str!("retry.md")]

use http::StatusCode;

use crate::{Endpoint, Error, Peer, RetryClass};

/// What to do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait (backoff, at least `Retry-After`) and send the same step again.
    Retry,
    /// End: retrying cannot help.
    GiveUp,
    /// A create that may have made a job: send it again (the possible
    /// orphan is never started, so it costs nothing).
    RetryCreate,
    /// A start that may have taken effect: watch the job instead of sending
    /// it blindly again.
    WatchInstead,
    /// A `/doc-ai/v1` submit that may have made and started a job: stop,
    /// unless the policy says to retry it (which may pay twice).
    Unconfirmed,
    /// A presigned URL refused by storage: ask the API for a fresh one, as a
    /// retry of the same step (it counts against the step's tries).
    Refresh,
    /// Outputs asked for and the API said "not ended yet" (409): look at the
    /// job's status again, at most `max_retries` times.
    NotYet,
    /// A start sent again was refused as a client error: the job had
    /// started, which is what the lost answer would have said.
    StartConfirmed,
}

/// Which steps a row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Steps {
    /// Every step.
    Any,
    /// One endpoint's step.
    Of(Endpoint),
    /// A step that asks for outputs from the API.
    Outputs,
    /// A transfer to or from a presigned storage URL.
    Storage,
    /// A start sent again after its first answer was lost.
    ResentStart,
}

/// Which failures a row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Any failure.
    Any,
    /// A failure of this retry class.
    Class(RetryClass),
    /// A failure after which the request may have taken effect.
    MayHaveTakenEffect,
    /// An answer with this status from this peer.
    Status(Peer, StatusCode),
    /// A 4xx from the API other than a bad key (401, 403), an unknown job
    /// (404) or a 429.
    Refusal,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub(crate) steps: Steps,
    pub(crate) failure: Failure,
    pub(crate) decision: Decision,
}

const fn row(steps: Steps, failure: Failure, decision: Decision) -> Row {
    Row {
        steps,
        failure,
        decision,
    }
}

/// The retry table: the first row that matches decides.
pub(crate) const TABLE: &[Row] = &[
    row(
        Steps::ResentStart,
        Failure::Refusal,
        Decision::StartConfirmed,
    ),
    row(
        Steps::Outputs,
        Failure::Status(Peer::Api, StatusCode::CONFLICT),
        Decision::NotYet,
    ),
    row(
        Steps::Storage,
        Failure::Status(Peer::Storage, StatusCode::FORBIDDEN),
        Decision::Refresh,
    ),
    row(
        Steps::Any,
        Failure::Class(RetryClass::Fatal),
        Decision::GiveUp,
    ),
    row(
        Steps::Of(Endpoint::CreateJob),
        Failure::MayHaveTakenEffect,
        Decision::RetryCreate,
    ),
    row(
        Steps::Of(Endpoint::Start),
        Failure::MayHaveTakenEffect,
        Decision::WatchInstead,
    ),
    row(
        Steps::Of(Endpoint::Submit),
        Failure::MayHaveTakenEffect,
        Decision::Unconfirmed,
    ),
    row(Steps::Any, Failure::Any, Decision::Retry),
];

impl Steps {
    fn matches(self, endpoint: Endpoint, resent_start: bool) -> bool {
        match self {
            Steps::Any => true,
            Steps::Of(e) => e == endpoint,
            Steps::Outputs => matches!(endpoint, Endpoint::Results | Endpoint::DownloadUrl),
            Steps::Storage => !endpoint.is_api(),
            Steps::ResentStart => endpoint == Endpoint::Start && resent_start,
        }
    }
}

impl Failure {
    fn matches(self, error: &Error) -> bool {
        match self {
            Failure::Any => true,
            Failure::Class(class) => error.retry_class() == class,
            Failure::MayHaveTakenEffect => error.may_have_taken_effect(),
            Failure::Status(peer, status) => {
                matches!(error, Error::Api(e) if e.peer == peer && e.status == status)
            }
            Failure::Refusal => matches!(error, Error::Api(e)
                if e.peer == Peer::Api
                    && e.status.is_client_error()
                    && !matches!(e.status.as_u16(), 401 | 403 | 404 | 429)),
        }
    }
}

/// What to do about `error`, answered to `endpoint`'s step (`resent_start`:
/// the step is a start sent again after a lost answer).
pub(crate) fn decide(endpoint: Endpoint, resent_start: bool, error: &Error) -> Decision {
    TABLE
        .iter()
        .find(|row| row.steps.matches(endpoint, resent_start) && row.failure.matches(error))
        .map_or(Decision::Retry, |row| row.decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiError, TransportError, TransportErrorKind};

    fn api(peer: Peer, status: u16) -> Error {
        Error::Api(ApiError {
            peer,
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
            code: None,
            message: String::new(),
            request_id: None,
            retry_after: None,
        })
    }

    /// Failures of every kind the table can tell apart.
    fn failures() -> Vec<Error> {
        let mut all: Vec<Error> = [Peer::Api, Peer::Storage]
            .into_iter()
            .flat_map(|peer| (400..600).map(move |status| api(peer, status)))
            .collect();
        for kind in [
            TransportErrorKind::Connect,
            TransportErrorKind::TimedOut,
            TransportErrorKind::Other,
        ] {
            all.push(Error::Transport(TransportError::new(kind, "x")));
        }
        all
    }

    fn render(row: &Row) -> String {
        let steps = match row.steps {
            Steps::Any => "any".to_owned(),
            Steps::Of(e) => e.name().to_owned(),
            Steps::Outputs => "results, download-url".to_owned(),
            Steps::Storage => "storage upload or download".to_owned(),
            Steps::ResentStart => "start, sent again".to_owned(),
        };
        let failure = match row.failure {
            Failure::Any => "any other".to_owned(),
            Failure::Class(c) => format!("{c:?}").to_lowercase(),
            Failure::MayHaveTakenEffect => "may have taken effect".to_owned(),
            Failure::Status(peer, status) => format!("{peer:?} answered {}", status.as_u16()),
            Failure::Refusal => "4xx but 401, 403, 404, 429".to_owned(),
        };
        let decision = match row.decision {
            Decision::Retry => "retry the step after backoff / Retry-After",
            Decision::GiveUp => "give up (refused)",
            Decision::RetryCreate => "retry; the possible orphan is never started",
            Decision::WatchInstead => "watch the job; never a blind second start",
            Decision::Unconfirmed => "give up, unless retry_unconfirmed (may pay twice)",
            Decision::Refresh => "ask for a fresh URL; counts as a retry",
            Decision::NotYet => "watch the job again; at most max_retries times",
            Decision::StartConfirmed => "the job had started: watch it",
        };
        format!("| {steps} | {failure} | {decision} |")
    }

    #[test]
    fn the_docs_show_the_table_the_machine_reads() {
        let mut rendered = String::from("| step | failure | decision |\n|---|---|---|\n");
        for row in TABLE {
            rendered.push_str(&render(row));
            rendered.push('\n');
        }
        assert_eq!(
            include_str!("retry.md"),
            rendered,
            "retry.md is out of date; the table is:\n{rendered}"
        );
    }

    #[test]
    fn every_row_decides_for_some_failure_no_earlier_row_takes() {
        // Read the table: each row must be reachable, or it is dead data.
        for (i, row) in TABLE.iter().enumerate() {
            let reached = Endpoint::ALL.into_iter().any(|endpoint| {
                [false, true].into_iter().any(|resent| {
                    failures().iter().any(|error| {
                        row.steps.matches(endpoint, resent)
                            && row.failure.matches(error)
                            && !TABLE[..i].iter().any(|earlier| {
                                earlier.steps.matches(endpoint, resent)
                                    && earlier.failure.matches(error)
                            })
                            && decide(endpoint, resent, error) == row.decision
                    })
                })
            });
            assert!(reached, "row {i} ({}) decides nothing", render(row));
        }
    }

    #[test]
    fn a_fatal_error_is_never_retried_and_a_submit_is_never_blindly_resent() {
        for endpoint in Endpoint::ALL {
            for error in failures() {
                let decision = decide(endpoint, false, &error);
                if error.retry_class() == RetryClass::Fatal {
                    assert!(
                        matches!(
                            decision,
                            Decision::GiveUp | Decision::NotYet | Decision::Refresh
                        ),
                        "{endpoint:?} {error:?} → {decision:?}"
                    );
                }
                if endpoint == Endpoint::Submit && error.may_have_taken_effect() {
                    assert!(matches!(decision, Decision::Unconfirmed | Decision::GiveUp));
                }
            }
        }
    }
}
