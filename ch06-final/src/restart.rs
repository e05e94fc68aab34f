//! Restart policies: `run --restart no|on-failure[:N]|always|unless-stopped`.
//!
//! A service should come back when it dies. Docker's daemon watches every
//! container and starts it again when its policy says so; we have no
//! daemon, but every container has a process that waits for it (the
//! supervisor, or `mydocker run` in the foreground), and that process
//! decides here, after each exit, whether to build the container again.
//!
//! | policy            | restarts after                       |
//! |-------------------|--------------------------------------|
//! | `no` (default)    | never                                |
//! | `on-failure[:N]`  | a non-zero exit, at most N times     |
//! | `always`          | any exit                             |
//! | `unless-stopped`  | any exit                             |
//!
//! A stop by the user (`stop`, `rm -f`, a signal to the supervisor) is
//! never followed by a restart, whatever the policy. `always` and
//! `unless-stopped` differ in Docker only when the daemon itself starts
//! (a reboot): `always` containers come back, stopped `unless-stopped` ones
//! do not. Without a daemon nothing of ours runs at boot, so here the two
//! behave the same.
//!
//! Between restarts the supervisor waits, as Docker does: 100 ms before
//! the first, doubling each time up to a minute, and back to 100 ms after
//! a run that lasted at least 10 seconds. A command that fails at once
//! does not spin the machine; a service that ran a while and crashed comes
//! back quickly.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

// ANCHOR: policy
/// When a container that exited is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Policy {
    /// Never (Docker's default).
    #[default]
    No,
    /// After a non-zero exit; at most `max` times (`None`: no limit).
    OnFailure {
        /// The most restarts (Docker's `MaximumRetryCount`; 0 there is no limit).
        max: Option<u32>,
    },
    /// After any exit.
    Always,
    /// After any exit (the same as `always` without a daemon: see above).
    UnlessStopped,
}
// ANCHOR_END: policy

impl Policy {
    /// True for `no`: what a record without a policy has.
    pub fn is_no(&self) -> bool {
        *self == Policy::No
    }

    /// Docker's name of the policy (`HostConfig.RestartPolicy.Name`).
    pub fn name(&self) -> &'static str {
        match self {
            Policy::No => "no",
            Policy::OnFailure { .. } => "on-failure",
            Policy::Always => "always",
            Policy::UnlessStopped => "unless-stopped",
        }
    }

    /// Docker's `MaximumRetryCount`: 0 for no limit.
    pub fn maximum_retry_count(&self) -> u32 {
        match self {
            Policy::OnFailure { max: Some(max) } => *max,
            _ => 0,
        }
    }

    // ANCHOR: should_restart
    /// Whether a container that exited with `code`, restarted `restarts`
    /// times so far, is started again. `stopped_by_user`: a `stop`, an
    /// `rm -f` or a signal to its supervisor ended it.
    pub fn should_restart(&self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            Policy::No => false,
            Policy::OnFailure { max } => code != 0 && max.is_none_or(|max| restarts < max),
            Policy::Always | Policy::UnlessStopped => true,
        }
    }
    // ANCHOR_END: should_restart
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::OnFailure { max: Some(max) } => write!(f, "on-failure:{max}"),
            policy => f.write_str(policy.name()),
        }
    }
}

impl FromStr for Policy {
    type Err = anyhow::Error;

    /// `no`, `on-failure`, `on-failure:N`, `always` or `unless-stopped`;
    /// `on-failure:0` is `on-failure` (no limit), as in Docker.
    fn from_str(text: &str) -> Result<Policy> {
        let (name, count) = match text.split_once(':') {
            Some((name, count)) => (name, Some(count)),
            None => (text, None),
        };
        let policy = match name {
            "no" => Policy::No,
            "always" => Policy::Always,
            "unless-stopped" => Policy::UnlessStopped,
            "on-failure" => {
                let max = match count {
                    None => None,
                    Some(count) => match count.parse::<u32>() {
                        Ok(0) => None,
                        Ok(max) => Some(max),
                        Err(_) => bail!(
                            "invalid restart policy {text:?}: the maximum retry count must be a number of 0 or more"
                        ),
                    },
                };
                return Ok(Policy::OnFailure { max });
            }
            _ => bail!(
                "invalid restart policy {text:?}: expected no, on-failure[:N], always or unless-stopped"
            ),
        };
        if count.is_some() {
            bail!(
                "invalid restart policy {text:?}: a maximum retry count can only be used with on-failure"
            );
        }
        Ok(policy)
    }
}

impl TryFrom<String> for Policy {
    type Error = anyhow::Error;

    fn try_from(text: String) -> Result<Policy> {
        text.parse()
    }
}

impl From<Policy> for String {
    fn from(policy: Policy) -> String {
        policy.to_string()
    }
}

// ANCHOR: backoff
/// Docker's wait before a restart: 100 ms, doubled after every restart,
/// at most a minute; back to 100 ms after a run of 10 s or more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backoff {
    delay: Duration,
}

impl Backoff {
    /// The first wait.
    pub const FIRST: Duration = Duration::from_millis(100);
    /// The longest wait.
    pub const MAX: Duration = Duration::from_secs(60);
    /// A run at least this long was a success of sorts: the wait starts over.
    pub const RESET_AFTER: Duration = Duration::from_secs(10);

    /// How long to wait before restarting a container whose last run
    /// lasted `ran_for`.
    pub fn next(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= Backoff::RESET_AFTER {
            self.delay = Duration::ZERO;
        }
        self.delay = match self.delay {
            Duration::ZERO => Backoff::FIRST,
            delay => (delay * 2).min(Backoff::MAX),
        };
        self.delay
    }
}
// ANCHOR_END: backoff

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_print_and_read_back() {
        for (text, policy, shown) in [
            ("no", Policy::No, "no"),
            ("always", Policy::Always, "always"),
            ("unless-stopped", Policy::UnlessStopped, "unless-stopped"),
            ("on-failure", Policy::OnFailure { max: None }, "on-failure"),
            (
                "on-failure:0",
                Policy::OnFailure { max: None },
                "on-failure",
            ),
            (
                "on-failure:3",
                Policy::OnFailure { max: Some(3) },
                "on-failure:3",
            ),
        ] {
            assert_eq!(text.parse::<Policy>().unwrap(), policy, "{text}");
            assert_eq!(policy.to_string(), shown);
            let json = serde_json::to_string(&policy).unwrap();
            assert_eq!(json, format!("\"{shown}\""));
            assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), policy);
        }
        assert_eq!(Policy::OnFailure { max: Some(3) }.maximum_retry_count(), 3);
        assert_eq!(Policy::Always.maximum_retry_count(), 0);
        assert_eq!(Policy::default(), Policy::No);
    }

    #[test]
    fn bad_policies_say_what_is_wrong() {
        for (text, says) in [
            (
                "sometimes",
                "expected no, on-failure[:N], always or unless-stopped",
            ),
            ("", "expected no"),
            ("on-failure:-1", "must be a number of 0 or more"),
            ("on-failure:x", "must be a number"),
            ("always:3", "only be used with on-failure"),
            ("no:1", "only be used with on-failure"),
        ] {
            let err = text.parse::<Policy>().unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
            assert!(serde_json::from_str::<Policy>(&format!("\"{text}\"")).is_err());
        }
    }

    #[test]
    fn dockers_decisions() {
        let on_failure_3 = Policy::OnFailure { max: Some(3) };
        // A failure is restarted three times, then no more.
        assert!((0..3).all(|n| on_failure_3.should_restart(3, n, false)));
        assert!(!on_failure_3.should_restart(3, 3, false));
        // A success is never restarted by on-failure.
        assert!(!on_failure_3.should_restart(0, 0, false));
        // Without N there is no limit.
        assert!(Policy::OnFailure { max: None }.should_restart(1, 1_000_000, false));
        for policy in [Policy::Always, Policy::UnlessStopped] {
            assert!(policy.should_restart(0, 1_000, false));
            assert!(policy.should_restart(137, 0, false));
        }
        assert!(!Policy::No.should_restart(1, 0, false));
        // A stop by the user ends every policy.
        for policy in [on_failure_3, Policy::Always, Policy::UnlessStopped] {
            assert!(!policy.should_restart(137, 0, true), "{policy}");
        }
    }

    #[test]
    fn the_backoff_doubles_up_to_a_minute_and_resets_after_a_long_run() {
        let mut backoff = Backoff::default();
        let quick = Duration::from_millis(5);
        let waits: Vec<u64> = (0..12)
            .map(|_| backoff.next(quick).as_millis() as u64)
            .collect();
        assert_eq!(
            waits,
            [
                100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000
            ]
        );
        assert_eq!(backoff.next(Duration::from_secs(10)), Backoff::FIRST);
        assert_eq!(
            backoff.next(Duration::from_secs(9)),
            Duration::from_millis(200)
        );
    }
}
