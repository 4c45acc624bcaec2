//! Email to the people who can fix things: a connection needs reconnecting (with the signed
//! link), a reminder while it stays broken, an early warning before a known expiry, and a
//! recovery note listing the gaps and how each was closed; and per query (`query_alerts`),
//! a failure that is not the connection's (broken, permission lost, quota spent, failing
//! fire after fire), its reminders and its recovery.
//!
//! Every message names the platform in its subject, carries a `Message-ID`, and where it
//! holds a reconnect link, says when the link stops working and whom to log in as.
//!
//! What was sent is recorded in the store before the call returns, so a restart never sends
//! the same message twice. Without an SMTP server, messages go to an outbox directory as
//! `.eml` files and to the log.

mod query_alerts;

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::auth::{LinkSigner, ReconnectReason};
use crate::clock::SharedClock;
use crate::config::{Config, ConnectionConfig, EmailConfig, SmtpTls};
use crate::platform::Platform;
use crate::query::Query;
use crate::store::{ConnectionState, ConnectionStatus, Gap, Store, StoreError};

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// An address in the config or a query file is not an email address.
    #[error("{address:?} is not an email address: {reason}")]
    Address {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The message could not be built.
    #[error("cannot build the email: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    /// The outbox could not be written.
    #[error("cannot write {path}: {source}")]
    Outbox {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One message, in plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Email {
    /// Recipients.
    pub(crate) to: Vec<String>,
    /// Subject line.
    pub(crate) subject: String,
    /// The plain-text part.
    pub(crate) text: String,
    /// The HTML part.
    pub(crate) html: String,
}

/// Sends the daemon's emails.
#[derive(Clone)]
pub struct Notifier {
    email: EmailConfig,
    links: LinkSigner,
    store: Store,
    clock: SharedClock,
    // Shared, not copied: every run holds a clone of the notifier.
    connections: std::sync::Arc<[ConnectionConfig]>,
    /// Per query: name, connection, `notify` addresses.
    queries: std::sync::Arc<[QueryContacts]>,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// One decision at a time: "was it sent? no, send it" must not interleave, or a run and
    /// the upkeep sweep would both send the same message.
    sending: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

/// What the notifier knows of a query: enough to address and title its messages.
struct QueryContacts {
    /// Query name.
    name: String,
    /// The connection it reads through.
    connection: String,
    /// The platform it reads.
    platform: Platform,
    /// Every connection it reads or writes through.
    connections: Vec<String>,
    /// Its `notify` addresses.
    notify: Vec<String>,
    /// Its file, for "fix the query file".
    file: PathBuf,
}

/// What a reconnect came to, for its recovery email: only what is true.
#[derive(Debug)]
pub(crate) struct Recovery<'a> {
    /// Who the new login is (or that it is unknown).
    pub(crate) who: &'a str,
    /// Queries running again.
    pub(crate) resumed: &'a [String],
    /// Queries still paused, with why.
    pub(crate) paused: &'a [(String, String)],
}

impl Notifier {
    /// A notifier for `config`'s connections and `queries`.
    pub(crate) fn new(config: &Config, queries: &[Query], store: Store, clock: SharedClock) -> Self {
        let links = LinkSigner::new(*store.link_key(), config.public_url.clone(), config.link_ttl);
        Self {
            connections: config.connections.clone().into(),
            queries: queries
                .iter()
                .map(|q| QueryContacts {
                    name: q.name.clone(),
                    connection: q.connection.clone(),
                    platform: q.platform,
                    connections: q.connections().map(String::from).collect(),
                    notify: q.notify.clone(),
                    file: q.file.clone(),
                })
                .collect(),
            transport: config.email.smtp.as_ref().map(|smtp| {
                let builder = match smtp.tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
                    SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                        .unwrap_or_else(|_| AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)),
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .unwrap_or_else(|_| AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)),
                };
                let builder = builder.port(smtp.port);
                match &smtp.credentials {
                    Some((user, password)) => builder
                        .credentials(Credentials::new(user.clone(), password.expose().to_string()))
                        .build(),
                    None => builder.build(),
                }
            }),
            email: config.email.clone(),
            sending: Default::default(),
            links,
            store,
            clock,
        }
    }

    /// This notifier for a reloaded `config` and query directory; one decision at a time
    /// still, across both.
    pub(crate) fn reconfigured(&self, config: &Config, queries: &[Query]) -> Self {
        Self {
            sending: self.sending.clone(),
            ..Self::new(config, queries, self.store.clone(), self.clock.clone())
        }
    }

    /// The link signer (for `reconnect-link`, the web endpoint and messages).
    pub fn links(&self) -> &LinkSigner {
        &self.links
    }

    /// The connection's owners and the `notify` addresses of its queries.
    fn recipients(&self, connection: &str) -> Vec<String> {
        let owners = self
            .connections
            .iter()
            .filter(|c| c.id == connection)
            .flat_map(|c| c.owners.iter());
        let notify = self
            .queries
            .iter()
            .filter(|q| q.connections.iter().any(|c| c == connection))
            .flat_map(|q| q.notify.iter());
        let people: BTreeSet<String> = owners.chain(notify).cloned().collect();
        people.into_iter().collect()
    }

    /// The queries that read or write through `connection`.
    pub(crate) fn queries_of(&self, connection: &str) -> Vec<String> {
        self.queries
            .iter()
            .filter(|q| q.connections.iter().any(|c| c == connection))
            .map(|q| q.name.clone())
            .collect()
    }

    fn connection(&self, id: &str) -> Option<&ConnectionConfig> {
        self.connections.iter().find(|c| c.id == id)
    }

    /// If `connection` needs reconnecting: the first message of the outage, else a reminder
    /// when one is due. Returns whether anything was sent.
    pub async fn check_connection(&self, connection: &str) -> Result<bool, NotifyError> {
        let _one_at_a_time = self.sending.lock().await;
        let (Some(conn), Some(state)) = (self.connection(connection), self.store.connection(connection).await?) else {
            return Ok(false);
        };
        if !state.status.needs_a_person() {
            return Ok(false);
        }
        let paused = self.queries_of(connection);
        if self.connection_paused(conn, &state, &paused).await? {
            return Ok(true);
        }
        self.remind_if_due(conn, &state, &paused).await
    }

    /// Tells the connection's people it needs reconnecting; once per outage.
    async fn connection_paused(
        &self,
        conn: &ConnectionConfig,
        state: &ConnectionState,
        paused: &[String],
    ) -> Result<bool, NotifyError> {
        let key = format!("paused/{}/{}", conn.id, state.since.timestamp());
        if self.store.notification_sent(&key).await?.is_some() {
            return Ok(false);
        }
        let email = self.paused_email(conn, state, paused, false).await?;
        if !self.send_once(&key, email).await? {
            return Ok(false);
        }
        let now = self.clock.now();
        self.store.record_notification(&reminder_key(&conn.id), now).await?;
        Ok(true)
    }

    /// Sends a reminder if the connection has been broken for another interval since the
    /// last message about it.
    async fn remind_if_due(
        &self,
        conn: &ConnectionConfig,
        state: &ConnectionState,
        paused: &[String],
    ) -> Result<bool, NotifyError> {
        let now = self.clock.now();
        let last = self
            .store
            .notification_sent(&reminder_key(&conn.id))
            .await?
            .unwrap_or(state.since);
        if now - last < self.email.reminder_interval {
            return Ok(false);
        }
        let email = self.paused_email(conn, state, paused, true).await?;
        let outage = format!("paused/{}/{}", conn.id, state.since.timestamp());
        let once = reminder_claim(&outage, state.since, now, self.email.reminder_interval);
        if !self.send_once(&once, email).await? {
            return Ok(false);
        }
        self.store.record_notification(&reminder_key(&conn.id), now).await?;
        Ok(true)
    }

    /// Warns once that a connection's login ends at `expires_at`.
    pub(crate) async fn expiring(
        &self,
        conn: &ConnectionConfig,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, NotifyError> {
        let _one_at_a_time = self.sending.lock().await;
        let key = format!("expiring/{}/{}", conn.id, expires_at.timestamp());
        if self.store.notification_sent(&key).await?.is_some() {
            return Ok(false);
        }
        let (link, how) = self.reconnect_link(&conn.id).await?;
        let days = (expires_at - self.clock.now()).num_days();
        let text = format!(
            "The connection {id} stops working on {at} (in {days} days) unless someone reconnects it.\n\nReconnect now, before anything breaks{how}:\n{link}\n",
            id = conn.id,
            at = time(expires_at),
        );
        let email = Email {
            to: self.recipients(&conn.id),
            subject: format!("adsync: {} {} expires in {days} days", platform_of(conn), conn.id),
            html: html_of(&text, link.as_str()),
            text,
        };
        self.send_once(&key, email).await
    }

    /// Tells the connection's people it works again, which queries resumed and which stay
    /// paused and why, and how each gap was closed; once per outage.
    pub(crate) async fn recovered(
        &self,
        conn: &ConnectionConfig,
        since: DateTime<Utc>,
        gaps: &[Gap],
        outcome: &Recovery<'_>,
    ) -> Result<bool, NotifyError> {
        let _one_at_a_time = self.sending.lock().await;
        let key = format!("recovered/{}/{}", conn.id, since.timestamp());
        if self.store.notification_sent(&key).await?.is_some() {
            return Ok(false);
        }
        let mut text = format!("The connection {} is connected again, as {}.\n\n", conn.id, outcome.who);
        if outcome.resumed.is_empty() {
            text.push_str("No query resumed.\n");
        } else {
            text.push_str(&format!("Resumed: {}.\n", outcome.resumed.join(", ")));
        }
        if !outcome.paused.is_empty() {
            text.push_str("Still paused:\n");
            for (query, why) in outcome.paused {
                text.push_str(&format!("- {query}: {why}\n"));
            }
        }
        text.push('\n');
        if gaps.is_empty() {
            text.push_str("No scheduled run was missed.\n");
        } else {
            text.push_str("Missed runs and how they were made good:\n");
            for gap in gaps {
                text.push_str(&format!(
                    "- {} {} (scheduled {}): {}\n",
                    gap.query,
                    gap.window,
                    time(gap.fire_time),
                    gap.state.as_str()
                ));
            }
        }
        let email = Email {
            to: self.recipients(&conn.id),
            subject: format!("adsync: {} {} is connected again", platform_of(conn), conn.id),
            html: html_of(&text, ""),
            text,
        };
        self.send_once(&key, email).await
    }

    async fn paused_email(
        &self,
        conn: &ConnectionConfig,
        state: &ConnectionState,
        paused: &[String],
        reminder: bool,
    ) -> Result<Email, NotifyError> {
        let reason = state.reason.unwrap_or(ReconnectReason::Unknown);
        let (link, how) = self.reconnect_link(&conn.id).await?;
        let mut text = format!(
            "{prefix}The connection {id} stopped working on {since}.\n\nWhy: {why}\nWhat to do: {action}\n",
            prefix = if reminder {
                "Reminder: still not reconnected.\n\n"
            } else {
                ""
            },
            id = conn.id,
            since = time(state.since),
            why = reason.explanation(),
            action = reason.action(),
        );
        if let Some(detail) = &state.detail {
            text.push_str(&format!("The platform said: {detail}\n"));
        }
        text.push_str("\nPaused queries (each missed run is recorded and will be backfilled):\n");
        for name in paused {
            text.push_str(&format!("- {name}\n"));
        }
        // A rejected client is fixed in the config, by whoever runs adsync: its owners (when
        // it has any), not the analysts, and not by following a link.
        let (verb, button, to) = if state.status == ConnectionStatus::Misconfigured {
            let owners = conn.owners.clone();
            let to = if owners.is_empty() {
                self.recipients(&conn.id)
            } else {
                owners
            };
            ("has a rejected OAuth client", "", to)
        } else {
            text.push_str(&format!("\nReconnect here{how}:\n{link}\n"));
            ("needs to be reconnected", link.as_str(), self.recipients(&conn.id))
        };
        Ok(Email {
            to,
            subject: format!(
                "adsync: {}{} {} {verb}",
                if reminder { "reminder: " } else { "" },
                platform_of(conn),
                conn.id
            ),
            html: html_of(&text, button),
            text,
        })
    }

    /// A fresh reconnect link for `connection`, and the words that go before it: when it
    /// stops working and, where known, whom to log in as.
    async fn reconnect_link(&self, connection: &str) -> Result<(url::Url, String), NotifyError> {
        let now = self.clock.now();
        let who = self
            .store
            .token(connection)
            .await?
            .and_then(|t| t.identity)
            .map(|i| i.name);
        let how = format!(
            " (the link works until {}{})",
            time(self.links.expires_at(now)),
            who.map(|who| format!("; log in as {who}")).unwrap_or_default()
        );
        Ok((self.links.link(connection, now), how))
    }

    /// Sends `email` unless the notification `key` was sent already, by this daemon or
    /// another of its cluster: the record is claimed first, atomically, so one daemon sends
    /// it; a failed send withdraws the claim, so a later check tries again. (A crash between
    /// claim and send loses that email rather than sending it twice.)
    async fn send_once(&self, key: &str, email: Email) -> Result<bool, NotifyError> {
        if !self.store.claim_notification(key, self.clock.now()).await? {
            return Ok(false);
        }
        if let Err(e) = self.deliver(email).await {
            self.store.forget_notification(key).await?;
            return Err(e);
        }
        Ok(true)
    }

    /// Sends `email` by SMTP, or writes it to the outbox.
    pub(crate) async fn deliver(&self, email: Email) -> Result<(), NotifyError> {
        if email.to.is_empty() {
            tracing::warn!(
                "No one to email about this (no owners or notify addresses): {}",
                email.subject
            );
            return Ok(());
        }
        let message = build(&self.email.from, &email)?;
        match &self.transport {
            Some(transport) => {
                transport
                    .send(message)
                    .await
                    .map_err(|e| NotifyError::Smtp(e.to_string()))?;
                tracing::info!(to = ?email.to, "Emailed: {}", email.subject);
            }
            None => {
                let dir = &self.email.outbox_dir;
                let name = format!(
                    "{}-{}.eml",
                    self.clock.now().format("%Y%m%dT%H%M%S%.6fZ"),
                    slug(&email.subject)
                );
                let path = dir.join(name);
                let io = |source| NotifyError::Outbox {
                    path: path.clone(),
                    source,
                };
                std::fs::create_dir_all(dir).map_err(io)?;
                std::fs::write(&path, message.formatted()).map_err(io)?;
                tracing::info!(to = ?email.to, "No SMTP server configured; wrote {}:\n{}", path.display(), email.text);
            }
        }
        Ok(())
    }
}

/// The key that makes the reminder about `outage` (started `since`) due at `now` one email
/// per cluster: reminders are at least `interval` apart, so each falls in its own interval
/// since the outage began, and daemons deciding at once claim the same key.
pub(super) fn reminder_claim(
    outage: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    interval: chrono::Duration,
) -> String {
    let nth = (now - since).num_seconds() / interval.num_seconds().max(1);
    format!("reminder/{outage}/{nth}")
}

fn reminder_key(connection: &str) -> String {
    format!("reminder/{connection}")
}

/// A time as every message writes it.
fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The platform(s) a connection serves, for subjects: "Meta Ads", "Google".
fn platform_of(conn: &ConnectionConfig) -> &'static str {
    conn.provider.display_name()
}

fn build(from: &str, email: &Email) -> Result<Message, NotifyError> {
    let mailbox = |address: &str| {
        address.parse::<Mailbox>().map_err(|e| NotifyError::Address {
            address: address.to_string(),
            reason: e.to_string(),
        })
    };
    // A `Message-ID` (RFC 5322 §3.6.4) lets mail clients thread replies and spam filters
    // trust the message; lettre makes a random one when given none.
    let mut builder = Message::builder()
        .from(mailbox(from)?)
        .subject(email.subject.clone())
        .message_id(None);
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| NotifyError::Build(e.to_string()))
}

/// The HTML part: the text, escaped, with the link as a button.
fn html_of(text: &str, link: &str) -> String {
    let body: String = text
        .split("\n\n")
        .map(|para| format!("<p>{}</p>", escape(para).replace('\n', "<br>")))
        .collect();
    let button = if link.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p><a href="{}" style="padding:8px 16px;background:#1a5fb4;color:#fff;text-decoration:none;border-radius:4px">Reconnect</a></p>"#,
            escape(link)
        )
    };
    format!("<!doctype html><html><body>{body}{button}</body></html>")
}

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.split('-').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_an_interval_apart_claim_different_keys_and_daemons_deciding_together_the_same() {
        let since: DateTime<Utc> = "2026-05-04T06:00:00Z".parse().unwrap();
        let day = chrono::Duration::hours(24);
        let claim = |hours: i64| reminder_claim("paused/meta/1", since, since + chrono::Duration::hours(hours), day);
        assert_eq!(claim(24), "reminder/paused/meta/1/1");
        assert_eq!(claim(30), claim(24), "two daemons a few hours apart: one reminder");
        assert_ne!(claim(49), claim(25), "the next interval's reminder is another email");
    }

    #[test]
    fn messages_have_both_parts_and_escape_html() {
        let email = Email {
            to: vec!["a@example.com".into()],
            subject: "s".into(),
            text: "x <b> & y".into(),
            html: html_of("x <b> & y", "https://h/reconnect/c?a=1&b=2"),
        };
        let formatted = String::from_utf8(build("adsync <adsync@localhost>", &email).unwrap().formatted()).unwrap();
        assert!(formatted.contains("multipart/alternative"));
        assert!(formatted.contains("Message-ID: <"), "{formatted}");
        assert!(formatted.contains("text/plain") && formatted.contains("text/html"));
        assert!(email.html.contains("x &lt;b&gt; &amp; y"));
        assert!(email.html.contains("a=1&amp;b=2"));
    }

    #[test]
    fn escape_covers_quotes_for_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn bad_addresses_are_named() {
        let email = Email {
            to: vec!["not an address".into()],
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        };
        let error = build("adsync@localhost", &email).unwrap_err().to_string();
        assert!(error.contains("not an address"), "{error}");
    }
}
