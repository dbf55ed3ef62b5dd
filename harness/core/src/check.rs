//! Waits with windows: [`eventually`], [`consistently`] and [`settles`].
//!
//! A probe looks at the system once and says whether the expected condition holds
//! ([`Observed::Holds`]) or what it saw instead ([`Observed::Not`]). Failures always state the
//! expectation, the window and the last observed state, never just "timed out".

use std::{fmt, future::Future, time::Duration};

use tokio::time::Instant;

use crate::Error;

/// One look at the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed<T> {
    /// The condition holds; carries what the caller wants to keep.
    Holds(T),
    /// It does not; carries what was seen instead.
    Not(String),
}

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The system under test did not do what was expected (JUnit `failure`, exit 1).
    #[error("{0}")]
    Failed(String),
    /// The harness or its environment broke (JUnit `error`, exit 3).
    #[error("{0}")]
    Infra(String),
}

impl From<Error> for CaseError {
    fn from(e: Error) -> Self {
        Self::Infra(e.to_string())
    }
}

impl CaseError {
    /// A failure of the system under test.
    pub fn failed(msg: impl fmt::Display) -> Self {
        Self::Failed(msg.to_string())
    }

    /// A failure of the harness or its environment (no leader to ask, a stream that ended).
    pub fn infra(msg: impl fmt::Display) -> Self {
        Self::Infra(msg.to_string())
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Polls `probe` every `poll` until it holds, for at most `timeout`.
///
/// Fails with [`CaseError::Failed`] naming `what`, the window and the last observation. A probe
/// that errors (infrastructure) ends the wait at once.
pub async fn eventually<T, F, Fut>(
    what: &str,
    timeout: Duration,
    poll: Duration,
    mut probe: F,
) -> Result<T, CaseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observed<T>, Error>>,
{
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        polls += 1;
        let seen = match probe().await? {
            Observed::Holds(v) => return Ok(v),
            Observed::Not(seen) => seen,
        };
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(CaseError::Failed(format!(
                "expected {what} within {}; not observed after {} ({polls} polls); last observed: {seen}",
                secs(timeout),
                secs(elapsed)
            )));
        }
        tokio::time::sleep(poll.min(timeout.saturating_sub(elapsed))).await;
    }
}

/// Polls `probe` every `poll` for `duration`; every observation must hold.
///
/// Fails at the first observation that does not, stating when it came.
pub async fn consistently<F, Fut>(
    what: &str,
    duration: Duration,
    poll: Duration,
    mut probe: F,
) -> Result<(), CaseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observed<()>, Error>>,
{
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        polls += 1;
        if let Observed::Not(seen) = probe().await? {
            return Err(CaseError::Failed(format!(
                "expected {what} for {}; broken after {} (poll {polls}): {seen}",
                secs(duration),
                secs(start.elapsed())
            )));
        }
        let elapsed = start.elapsed();
        if elapsed >= duration {
            return Ok(());
        }
        tokio::time::sleep(poll.min(duration - elapsed)).await;
    }
}

/// Polls `probe` every `poll` until it holds for `stay` without a break, the holding having
/// begun within `window`; returns when it began, from the call. A condition that holds for a
/// moment on stale state and then breaks (a node the cluster has not yet noticed is gone) does
/// not pass: the wait goes on from the break.
///
/// Fails with [`CaseError::Failed`] naming `what`, both durations, the last observation and how
/// many times the condition held and broke again.
pub async fn settles<F, Fut>(
    what: &str,
    window: Duration,
    stay: Duration,
    poll: Duration,
    mut probe: F,
) -> Result<Duration, CaseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observed<()>, Error>>,
{
    let start = Instant::now();
    let mut since: Option<Instant> = None;
    let (mut polls, mut breaks) = (0u32, 0u32);
    loop {
        polls += 1;
        match probe().await? {
            Observed::Holds(()) => {
                let began = *since.get_or_insert_with(Instant::now);
                if began.elapsed() >= stay {
                    return Ok(began - start);
                }
            }
            Observed::Not(seen) => {
                if since.take().is_some() {
                    breaks += 1;
                }
                let elapsed = start.elapsed();
                if elapsed >= window {
                    return Err(CaseError::Failed(format!(
                        "expected {what} within {} and for {} without a break; not observed after {} ({polls} polls, held and broke again {breaks} time(s)); last observed: {seen}",
                        secs(window),
                        secs(stay),
                        secs(elapsed)
                    )));
                }
            }
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn eventually_returns_the_value_once_the_condition_holds() {
        let n = AtomicU32::new(0);
        let v = eventually("n to reach 3", 100 * MS, MS, || async {
            let k = n.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(if k >= 3 {
                Observed::Holds(k)
            } else {
                Observed::Not(format!("n={k}"))
            })
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn eventually_fails_with_window_and_last_observation() {
        let err = eventually::<(), _, _>("the pod to be Running", 50 * MS, 10 * MS, || async {
            Ok(Observed::Not("phase=Pending".into()))
        })
        .await
        .unwrap_err();
        let CaseError::Failed(msg) = err else {
            panic!("expected a check failure, got {err:?}")
        };
        assert!(
            msg.contains("expected the pod to be Running within 0.1 s"),
            "{msg}"
        );
        assert!(msg.contains("last observed: phase=Pending"), "{msg}");
    }

    #[tokio::test(start_paused = true)]
    async fn eventually_stops_at_an_infrastructure_error() {
        let err = eventually::<(), _, _>("x", 50 * MS, 10 * MS, || async {
            Err(Error::infra("docker went away"))
        })
        .await
        .unwrap_err();
        assert_eq!(err, CaseError::Infra("docker went away".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn consistently_passes_when_every_observation_holds() {
        let n = AtomicU32::new(0);
        consistently("quiet", 50 * MS, 10 * MS, || async {
            n.fetch_add(1, Ordering::SeqCst);
            Ok(Observed::Holds(()))
        })
        .await
        .unwrap();
        assert!(
            n.load(Ordering::SeqCst) >= 5,
            "polled through the whole window"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn consistently_fails_at_the_first_break() {
        let n = AtomicU32::new(0);
        let err = consistently("the node to stay Ready", 100 * MS, 10 * MS, || async {
            let k = n.fetch_add(1, Ordering::SeqCst);
            Ok(if k < 2 {
                Observed::Holds(())
            } else {
                Observed::Not("Ready=Unknown".into())
            })
        })
        .await
        .unwrap_err();
        let CaseError::Failed(msg) = err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("(poll 3): Ready=Unknown"), "{msg}");
    }

    #[tokio::test(start_paused = true)]
    async fn settles_ignores_a_condition_that_breaks_and_waits_for_a_stable_one() {
        let n = AtomicU32::new(0);
        // Holds at polls 1-2 (stale), breaks at 3-4, holds from 5 on.
        let began = settles("agents active", 100 * MS, 30 * MS, 10 * MS, || async {
            let k = n.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(if (3..=4).contains(&k) {
                Observed::Not("1 of 2 active".into())
            } else {
                Observed::Holds(())
            })
        })
        .await
        .unwrap();
        assert_eq!(began, 40 * MS, "the stable run began at poll 5");
        let err = settles("agents active", 50 * MS, 30 * MS, 10 * MS, || async {
            let k = n.fetch_add(1, Ordering::SeqCst);
            Ok(if k.is_multiple_of(2) {
                Observed::Holds(())
            } else {
                Observed::Not("1 of 2 active".into())
            })
        })
        .await
        .unwrap_err();
        let CaseError::Failed(msg) = err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("for 0.0 s without a break"), "{msg}");
        assert!(msg.contains("last observed: 1 of 2 active"), "{msg}");
    }
}
