//! A real SMTP server on loopback for the tests: `mailin-embedded`, an SMTP server written
//! independently of lettre (the client adsync sends with), speaking the protocol over TCP in
//! the test process, plus just enough MIME decoding to read the messages it received.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine;
use mailin_embedded::{response, Handler, Response, SslConfig};

use crate::helpers::{Daemon, TestApp};

/// A running SMTP server. Its accept loop has no stop (the crate serves forever), so it ends
/// with the test process; a dropped server only holds an idle loopback port.
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<String>>>,
}

/// One SMTP session's view: the message being received, then the shared mailbox.
#[derive(Clone)]
struct Mailbox {
    received: Arc<Mutex<Vec<String>>>,
    current: Vec<u8>,
}

impl Handler for Mailbox {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        self.current.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&std::mem::take(&mut self.current)).into_owned();
        self.received.lock().unwrap().push(message);
        response::OK
    }
}

impl SmtpServer {
    /// Starts one on a free loopback port. The socket is bound before this returns, so it
    /// accepts connections at once (they queue until the serving thread takes them).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut server = mailin_embedded::Server::new(Mailbox {
            received: received.clone(),
            current: Vec::new(),
        });
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            // An error here means the socket died; the test then fails on its missing mail.
            let _ = server.serve();
        });
        Self { port, received }
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
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|raw| Mail::parse(raw))
            .collect()
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
    pub message_id: String,
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
            message_id: header("Message-ID"),
            text: part(&raw, "text/plain"),
            html: part(&raw, "text/html"),
        }
    }

    /// Checks that the text says when its reconnect link stops working (exactly the link's
    /// own `expires`) and whom to log in as.
    pub fn assert_link_expiry_and_login(&self, user: &str) {
        let link = url::Url::parse(&self.reconnect_link()).unwrap();
        let expires = link
            .query_pairs()
            .find_map(|(k, v)| (k == "expires").then(|| v.parse::<i64>().unwrap()))
            .unwrap();
        let until = chrono::DateTime::from_timestamp(expires, 0).unwrap();
        let words = format!(
            "(the link works until {}; log in as {user}):",
            until.format("%Y-%m-%d %H:%M UTC")
        );
        assert!(self.text.contains(&words), "no {words:?} in:\n{}", self.text);
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
