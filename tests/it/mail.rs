//! A real SMTP server on loopback for the tests: aiosmtpd (`python3 -m aiosmtpd`, installed by
//! `.ci/run`) delivering into a Maildir, plus just enough MIME decoding to read the messages.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine;

use crate::helpers::{free_port, wait_for_port, Daemon, TestApp};

/// A running SMTP server; killed on drop.
pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Child,
}

impl SmtpServer {
    /// Starts one on a free loopback port and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = free_port();
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd is installed (see .ci/run)");
        let server = Self { port, maildir, child };
        wait_for_port(port, "aiosmtpd").await;
        server
    }

    /// The `[email]` config section that sends through this server.
    pub fn config(&self, reminder_hours: u32) -> String {
        format!(
            "[email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"adsync <adsync@example.com>\"\nreminder_interval_hours = {reminder_hours}\n",
            self.port
        )
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let dir: PathBuf = self.maildir.path().join("mail").join("new");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
        files
            .iter()
            .map(|p| Mail::parse(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A daemon on a known port whose config sends mail to `smtp`; consent is a real page.
pub async fn mail_daemon(
    smtp: &SmtpServer,
    reminder_hours: u32,
    queries: &[(&str, String)],
) -> (TestApp, Daemon, String) {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    test.write_config_with(&listen, &smtp.config(reminder_hours));
    for (name, text) in queries {
        test.write_query(name, text);
    }
    let app = test.connected_app().await;
    test.control(
        reqwest::Method::PUT,
        "/_sandbox/settings",
        Some(serde_json::json!({"auto_approve": false})),
    )
    .await;
    let first = queries[0].0;
    let daemon = Daemon::start_on(app, first, listener).await;
    (test, daemon, format!("http://{listen}"))
}

/// A received message: headers and its decoded text parts.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub to: String,
    /// The decoded `text/plain` part.
    pub text: String,
    /// The decoded `text/html` part.
    pub html: String,
}

impl Mail {
    fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, _) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_default()
                .to_string()
        };
        Mail {
            subject: header("Subject"),
            to: header("To"),
            text: part(&raw, "text/plain"),
            html: part(&raw, "text/html"),
        }
    }

    /// The first `http…/reconnect/…` link in the text part.
    pub fn reconnect_link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("/reconnect/"))
            .unwrap_or_else(|| panic!("no reconnect link in:\n{}", self.text))
            .to_string()
    }
}

/// The decoded body of the MIME part with `content_type`.
fn part(raw: &str, content_type: &str) -> String {
    let Some(start) = raw.find(&format!("Content-Type: {content_type}")) else {
        return String::new();
    };
    let rest = &raw[start..];
    let (headers, body) = rest.split_once("\n\n").unwrap_or((rest, ""));
    let body = body.split("\n--").next().unwrap_or_default();
    if headers.contains("Content-Transfer-Encoding: base64") {
        let joined: String = body.lines().map(str::trim).collect();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap()
    } else if headers.contains("Content-Transfer-Encoding: quoted-printable") {
        quoted_printable(body)
    } else {
        body.to_string()
    }
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}
