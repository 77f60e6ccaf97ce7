//! Waiting for a condition: one poll loop for the whole suite.
//!
//! ```
//! # use std::time::Duration;
//! # use conformance::wait::{poll_until, Interval, Probe};
//! # async fn demo() {
//! let mut tries = 0;
//! let got = poll_until(Duration::from_secs(5), Interval::fixed(Duration::from_millis(1)), || {
//!     tries += 1;
//!     std::future::ready(if tries == 3 { Probe::Done(tries) } else { Probe::NotYet("too early") })
//! })
//! .await;
//! assert_eq!(got.unwrap(), 3);
//! # }
//! ```
//!
//! The probe runs at least once, even with a zero timeout, so a condition
//! that already holds is never reported as a timeout. Between probes the
//! loop sleeps the [`Interval`], never past the deadline. A probe that finds
//! out the condition can never hold (the process died) returns
//! `Probe::Done(Err(..))`: giving up early is the caller's result, not a
//! timeout.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe<T, L = ()> {
    /// The condition holds (or the caller gives up with its own result).
    Done(T),
    /// Not yet; `L` says what was seen, for the timeout message.
    NotYet(L),
}

/// The pause between probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    first: Duration,
    max: Duration,
}

impl Interval {
    /// The same pause every time.
    pub const fn fixed(every: Duration) -> Interval {
        Interval {
            first: every,
            max: every,
        }
    }

    /// Starts at `first` and grows by half each time up to `max`: quick to
    /// notice a condition that holds soon (start times are measured, not
    /// rounded up to the interval), cheap when it takes long.
    pub const fn growing(first: Duration, max: Duration) -> Interval {
        Interval { first, max }
    }

    fn next(&self, current: Duration) -> Duration {
        (current + current / 2).min(self.max).max(self.first)
    }
}

/// The condition did not hold before the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout<L> {
    /// How long it was polled.
    pub waited: Duration,
    /// What the last probe saw.
    pub last: L,
}

impl<L: fmt::Display> fmt::Display for Timeout<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "still not done after {:.1} s (last: {})",
            self.waited.as_secs_f64(),
            self.last
        )
    }
}

impl<L: fmt::Debug + fmt::Display> std::error::Error for Timeout<L> {}

/// Runs `probe` until it returns [`Probe::Done`] or `timeout` has passed,
/// sleeping `interval` between probes (asynchronously).
pub async fn poll_until<T, L, F, Fut>(
    timeout: Duration,
    interval: Interval,
    mut probe: F,
) -> Result<T, Timeout<L>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Probe<T, L>>,
{
    let started = Instant::now();
    let mut pause = interval.first;
    loop {
        let last = match probe().await {
            Probe::Done(value) => return Ok(value),
            Probe::NotYet(last) => last,
        };
        match remaining(started, timeout) {
            None => {
                return Err(Timeout {
                    waited: started.elapsed(),
                    last,
                })
            }
            Some(left) => tokio::time::sleep(pause.min(left)).await,
        }
        pause = interval.next(pause);
    }
}

/// [`poll_until`] for synchronous code (`Drop`, plain threads): the same
/// loop, sleeping the thread.
pub fn poll_until_blocking<T, L>(
    timeout: Duration,
    interval: Interval,
    mut probe: impl FnMut() -> Probe<T, L>,
) -> Result<T, Timeout<L>> {
    let started = Instant::now();
    let mut pause = interval.first;
    loop {
        let last = match probe() {
            Probe::Done(value) => return Ok(value),
            Probe::NotYet(last) => last,
        };
        match remaining(started, timeout) {
            None => {
                return Err(Timeout {
                    waited: started.elapsed(),
                    last,
                })
            }
            Some(left) => std::thread::sleep(pause.min(left)),
        }
        pause = interval.next(pause);
    }
}

/// Time left before the deadline, `None` once it has passed.
fn remaining(started: Instant, timeout: Duration) -> Option<Duration> {
    timeout
        .checked_sub(started.elapsed())
        .filter(|left| !left.is_zero())
}

/// `Probe::Done(())` when `condition` holds, else `Probe::NotYet(())`.
pub fn probe(condition: bool) -> Probe<()> {
    if condition {
        Probe::Done(())
    } else {
        Probe::NotYet(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn returns_the_first_done_value() {
        let mut n = 0;
        let got = poll_until(Duration::from_secs(5), Interval::fixed(MS), || {
            n += 1;
            std::future::ready(if n < 4 {
                Probe::NotYet(n)
            } else {
                Probe::Done(n * 10)
            })
        })
        .await;
        assert_eq!(got, Ok(40));
    }

    #[tokio::test]
    async fn times_out_with_the_last_observation() {
        let started = Instant::now();
        let mut n = 0;
        let err = poll_until(Duration::from_millis(50), Interval::fixed(5 * MS), || {
            n += 1;
            std::future::ready(Probe::<(), _>::NotYet(format!("try {n}")))
        })
        .await
        .unwrap_err();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(err.last, format!("try {n}"));
        assert!(n >= 2, "probed {n} times");
        assert!(err.to_string().starts_with("still not done after"), "{err}");
    }

    #[tokio::test]
    async fn a_zero_timeout_still_probes_once() {
        let got = poll_until(Duration::ZERO, Interval::fixed(MS), || {
            std::future::ready(Probe::<_, ()>::Done("now"))
        })
        .await;
        assert_eq!(got, Ok("now"));
        let err = poll_until(Duration::ZERO, Interval::fixed(MS), || {
            std::future::ready(probe(false))
        })
        .await;
        assert!(err.is_err());
    }

    #[test]
    fn the_blocking_form_behaves_the_same() {
        let mut n = 0;
        let got = poll_until_blocking(Duration::from_secs(5), Interval::fixed(MS), || {
            n += 1;
            probe(n == 3)
        });
        assert_eq!(got, Ok(()));
        assert_eq!(n, 3);
        let err = poll_until_blocking(Duration::from_millis(20), Interval::fixed(MS), || {
            Probe::<(), _>::NotYet("never")
        })
        .unwrap_err();
        assert_eq!(err.last, "never");
    }

    #[test]
    fn growing_intervals_grow_by_half_up_to_the_cap() {
        let i = Interval::growing(Duration::from_millis(20), Duration::from_millis(200));
        let mut pause = Duration::from_millis(20);
        let mut seen = vec![pause.as_millis()];
        for _ in 0..7 {
            pause = i.next(pause);
            seen.push(pause.as_millis());
        }
        assert_eq!(seen, vec![20, 30, 45, 67, 101, 151, 200, 200]);
        let fixed = Interval::fixed(Duration::from_millis(7));
        assert_eq!(
            fixed.next(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
    }
}
