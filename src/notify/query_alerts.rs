//! Messages about one query whose trouble is not a dead login (those are the connection's
//! messages): the platform rejects the query, the login lost access to one of its accounts,
//! its quota is spent for more than a day, or it keeps failing after every retry. One
//! message per outage (keyed by the first failed run), reminders at the reconnect reminder
//! interval while it lasts, and a recovery note when it delivers again.

use chrono::{DateTime, Duration, Utc};

use super::{html_of, time, Email, Notifier, NotifyError, QueryContacts};
use crate::reason::Reason;
use crate::store::{GapState, QueryFailure};

/// A quota spent for longer than this is a person's business; shorter, adsync just waits.
const QUOTA_PATIENCE: Duration = Duration::days(1);

/// The kinds of query trouble a person is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// The platform rejected the query itself.
    Broken,
    /// The login cannot read one of the query's accounts or reports.
    AccessLost,
    /// The connection's quota is spent.
    QuotaSpent,
    /// Failure after every retry, run after run.
    KeepsFailing,
}

impl Trouble {
    /// The trouble behind a failed run's `reason`; `None` for what the connection's own
    /// messages (or the reconnect page) already tell, and for adsync having been down.
    fn of(reason: Reason) -> Option<Self> {
        match reason {
            Reason::BadQuery => Some(Self::Broken),
            Reason::PermissionDenied => Some(Self::AccessLost),
            Reason::QuotaExhausted => Some(Self::QuotaSpent),
            Reason::PlatformError | Reason::OutputFailed | Reason::TokenEndpointFailed | Reason::UnknownConnection => {
                Some(Self::KeepsFailing)
            }
            Reason::DaemonNotRunning
            | Reason::NotConnected
            | Reason::MissingAccess
            | Reason::MissingScope
            | Reason::OutputAccess
            | Reason::Reconnect(_) => None,
        }
    }

    /// Whether a person should hear of `failure` now, after `failed_runs` failed scheduled
    /// runs in a row (`threshold` of them make a query that keeps failing worth a message): a
    /// broken query or a lost account at once, a spent quota once it outlasts a day (or the
    /// platform says it will), other failures at the threshold.
    fn due(self, failure: &QueryFailure, failed_runs: u32, threshold: u32, now: DateTime<Utc>) -> bool {
        match self {
            Self::Broken | Self::AccessLost => true,
            Self::QuotaSpent => {
                now - failure.since >= QUOTA_PATIENCE
                    || failure
                        .until
                        .is_some_and(|until| until - failure.since >= QUOTA_PATIENCE)
            }
            Self::KeepsFailing => failed_runs >= threshold,
        }
    }

    /// What the subject says of the query.
    fn headline(self) -> &'static str {
        match self {
            Self::Broken => "is broken",
            Self::AccessLost => "lost access to an account",
            Self::QuotaSpent => "is out of quota",
            Self::KeepsFailing => "keeps failing",
        }
    }

    /// Whether the connection's owners hear of it too: its login, its quota, its token
    /// endpoint are theirs to fix.
    fn concerns_connection(self, reason: Reason) -> bool {
        match self {
            Self::AccessLost | Self::QuotaSpent => true,
            Self::KeepsFailing => reason == Reason::TokenEndpointFailed,
            Self::Broken => false,
        }
    }
}

impl Notifier {
    /// After a scheduled run of `query` failed with `failure`, the `failed_runs`-th in a row:
    /// the first message of the outage once it is a person's business. Returns whether one
    /// was sent.
    pub(crate) async fn query_failed(
        &self,
        query: &str,
        failure: &QueryFailure,
        failed_runs: u32,
    ) -> Result<bool, NotifyError> {
        let _one_at_a_time = self.sending.lock().await;
        let (Some(contacts), Some(trouble)) = (self.contacts(query), Trouble::of(failure.reason)) else {
            return Ok(false);
        };
        let now = self.clock.now();
        let due = trouble.due(failure, failed_runs, self.email.failed_runs_before_alert, now);
        let key = failed_key(query, failure.since);
        if !due || self.store.notification_sent(&key).await?.is_some() {
            return Ok(false);
        }
        let email = self.failure_email(contacts, trouble, failure, false).await?;
        if !self.send_once(&key, email).await? {
            return Ok(false);
        }
        self.store.record_notification(&query_reminder_key(query), now).await?;
        Ok(true)
    }

    /// Upkeep: a reminder for each query still failing, told about, and not told again for
    /// a reminder interval.
    pub(crate) async fn remind_failing_queries(&self) -> Result<(), NotifyError> {
        let _one_at_a_time = self.sending.lock().await;
        let now = self.clock.now();
        for contacts in self.queries.iter() {
            let failing = self.store.query_state(&contacts.name).await?.and_then(|s| s.failing);
            let Some((failure, trouble)) = failing.and_then(|f| Some((f.clone(), Trouble::of(f.reason)?))) else {
                continue;
            };
            if self
                .store
                .notification_sent(&failed_key(&contacts.name, failure.since))
                .await?
                .is_none()
            {
                continue;
            }
            let reminder = query_reminder_key(&contacts.name);
            let last = self.store.notification_sent(&reminder).await?.unwrap_or(failure.since);
            if now - last < self.email.reminder_interval {
                continue;
            }
            let email = self.failure_email(contacts, trouble, &failure, true).await?;
            let once = super::reminder_claim(
                &failed_key(&contacts.name, failure.since),
                failure.since,
                now,
                self.email.reminder_interval,
            );
            if self.send_once(&once, email).await? {
                self.store.record_notification(&reminder, now).await?;
            }
        }
        Ok(())
    }

    /// After `query` delivered again, ending the outage `failure`: the recovery note, once,
    /// if its people were told of the outage.
    pub(crate) async fn query_recovered(&self, query: &str, failure: &QueryFailure) -> Result<bool, NotifyError> {
        let _one_at_a_time = self.sending.lock().await;
        let Some(contacts) = self.contacts(query) else {
            return Ok(false);
        };
        let key = format!("query-recovered/{query}/{}", failure.since.timestamp());
        let told = self
            .store
            .notification_sent(&failed_key(query, failure.since))
            .await?
            .is_some();
        if !told || self.store.notification_sent(&key).await?.is_some() {
            return Ok(false);
        }
        let mut text = format!(
            "The query {query} delivered again on {now}. It had failed since {since}: {why}\n\n",
            now = time(self.clock.now()),
            since = time(failure.since),
            why = failure.reason.sentence(),
        );
        let missed = self.missed(query, failure.since).await?;
        if missed.is_empty() {
            text.push_str("No scheduled run was missed.\n");
        } else {
            text.push_str("Missed runs and what became of them (open ones are backfilled next):\n");
            for (window, fire, state) in missed {
                text.push_str(&format!("- {window} (scheduled {}): {}\n", time(fire), state.as_str()));
            }
        }
        let email = Email {
            to: self.query_recipients(contacts, failure.reason),
            subject: format!(
                "adsync: {} query {query} delivers again",
                contacts.platform.display_name()
            ),
            html: html_of(&text, ""),
            text,
        };
        self.send_once(&key, email).await
    }

    fn contacts(&self, query: &str) -> Option<&QueryContacts> {
        self.queries.iter().find(|q| q.name == query)
    }

    /// The query's `notify` addresses, and its connection's owners when the trouble is the
    /// connection's.
    fn query_recipients(&self, contacts: &QueryContacts, reason: Reason) -> Vec<String> {
        let owners = Trouble::of(reason)
            .filter(|t| t.concerns_connection(reason))
            .and_then(|_| self.connection(&contacts.connection))
            .map(|c| c.owners.clone())
            .unwrap_or_default();
        let people: std::collections::BTreeSet<String> = contacts.notify.iter().cloned().chain(owners).collect();
        people.into_iter().collect()
    }

    /// The fires of `query` since `since` that delivered nothing: window, fire, gap state.
    async fn missed(
        &self,
        query: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(crate::rows::DateWindow, DateTime<Utc>, GapState)>, NotifyError> {
        Ok(self
            .store
            .gaps(query)
            .await?
            .into_iter()
            .filter(|g| g.recorded_at >= since)
            .map(|g| (g.window, g.fire_time, g.state))
            .collect())
    }

    async fn failure_email(
        &self,
        contacts: &QueryContacts,
        trouble: Trouble,
        failure: &QueryFailure,
        reminder: bool,
    ) -> Result<Email, NotifyError> {
        let query = &contacts.name;
        let mut text = format!(
            "{prefix}The query {query} ({platform}, connection {connection}) {headline} since {since}.\n\n",
            prefix = if reminder { "Reminder: still failing.\n\n" } else { "" },
            platform = contacts.platform.display_name(),
            connection = contacts.connection,
            headline = trouble.headline(),
            since = time(failure.since),
        );
        if let Some(detail) = &failure.detail {
            text.push_str(&format!("What failed: {detail}\n"));
        }
        text.push_str(&format!("Why: {}\n", failure.reason.sentence()));
        let mut link = None;
        let action = match trouble {
            Trouble::Broken => format!(
                "Fix the query file {}; adsync sends the query again once the file changes.",
                contacts.file.display()
            ),
            Trouble::AccessLost => {
                let (url, how) = self.reconnect_link(&contacts.connection).await?;
                let action = format!(
                    "Ask an administrator of the account to give the connected user access again, or reconnect {} as a user who has it{how}:\n{url}",
                    contacts.connection
                );
                link = Some(url);
                action
            }
            Trouble::QuotaSpent => match failure.until {
                Some(until) => format!(
                    "Nothing, if waiting is fine: the platform takes requests again from {}, and adsync backfills then. Otherwise ask the platform for a higher quota.",
                    time(until)
                ),
                None => "Wait for the quota to refill (adsync backfills then), or ask the platform for a higher quota.".to_string(),
            },
            Trouble::KeepsFailing => {
                "Check the platform's status page and the output's disk or sheet; adsync tries again at every scheduled run and backfills what was missed.".to_string()
            }
        };
        text.push_str(&format!("What to do: {action}\n"));
        let missed = self.missed(query, failure.since).await?;
        if !missed.is_empty() {
            text.push_str("\nDates missed so far (each is recorded and delivered once the query works again):\n");
            for (window, fire, _) in missed {
                text.push_str(&format!("- {window} (scheduled {})\n", time(fire)));
            }
        }
        Ok(Email {
            to: self.query_recipients(contacts, failure.reason),
            subject: format!(
                "adsync: {}{} query {query} {}",
                if reminder { "reminder: " } else { "" },
                contacts.platform.display_name(),
                trouble.headline()
            ),
            html: html_of(&text, link.as_ref().map_or("", |l| l.as_str())),
            text,
        })
    }
}

/// The key of the first message about the outage of `query` that started at `since`.
fn failed_key(query: &str, since: DateTime<Utc>) -> String {
    format!("query-failed/{query}/{}", since.timestamp())
}

fn query_reminder_key(query: &str) -> String {
    format!("query-reminder/{query}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::ReconnectReason;

    #[test]
    fn dead_logins_and_downtime_are_not_the_query_s_trouble() {
        assert_eq!(Trouble::of(Reason::Reconnect(ReconnectReason::Revoked)), None);
        assert_eq!(Trouble::of(Reason::DaemonNotRunning), None);
        assert_eq!(Trouble::of(Reason::BadQuery), Some(Trouble::Broken));
        assert_eq!(Trouble::of(Reason::PermissionDenied), Some(Trouble::AccessLost));
        assert!(Trouble::AccessLost.concerns_connection(Reason::PermissionDenied));
        assert!(!Trouble::Broken.concerns_connection(Reason::BadQuery));
        assert!(!Trouble::KeepsFailing.concerns_connection(Reason::PlatformError));
        assert!(Trouble::KeepsFailing.concerns_connection(Reason::TokenEndpointFailed));
    }

    #[test]
    fn a_spent_quota_is_told_once_it_outlasts_a_day_and_other_failures_at_the_threshold() {
        let since = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let failure = |until: Option<Duration>| QueryFailure {
            since,
            reason: Reason::QuotaExhausted,
            detail: None,
            until: until.map(|wait| since + wait),
        };
        let hours = |h| since + Duration::hours(h);
        let quota = Trouble::QuotaSpent;
        assert!(!quota.due(&failure(None), 3, 2, hours(23)));
        assert!(quota.due(&failure(None), 1, 2, hours(24)));
        assert!(!quota.due(&failure(Some(Duration::hours(6))), 1, 2, hours(1)));
        assert!(quota.due(&failure(Some(Duration::hours(30))), 1, 2, hours(1)));
        let failing = Trouble::KeepsFailing;
        assert!(!failing.due(&failure(None), 1, 2, hours(100)));
        assert!(failing.due(&failure(None), 2, 2, hours(0)));
        assert!(Trouble::Broken.due(&failure(None), 1, 5, hours(0)));
    }
}
