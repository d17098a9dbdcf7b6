//! A real IAM-compatible server for the tests: moto on 127.0.0.1 (from the project's
//! .venv or PATH), plus a fault-injecting proxy in front of it and a raw IAM query
//! helper that checks state without going through handoff's own code.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::TestEnv;

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
}

fn moto_binary() -> Option<String> {
    let local = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server");
    if std::path::Path::new(local).exists() {
        return Some(local.to_string());
    }
    if crate::support::have("moto_server") {
        Some("moto_server".into())
    } else {
        None
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// Starts moto, or returns None (locally) when it is not installed.
    pub fn start() -> Option<Moto> {
        let bin = moto_binary()?;
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let mut moto = Moto { child, port };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(moto);
                }
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = moto.child.kill();
        }
        panic!("moto_server did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A raw IAM query (moto does not check signatures): returns (status, body).
    pub fn iam(&self, action: &str, params: &[(&str, &str)]) -> (u16, String) {
        let mut body = format!("Action={action}&Version=2010-05-08");
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", urlencode(v)));
        }
        http(self.port, "POST", "/", &body)
    }

    /// moto's whole state as JSON text.
    pub fn state(&self) -> String {
        http(self.port, "GET", "/moto-api/data.json", "").1
    }

    pub fn user_exists(&self, user: &str) -> bool {
        self.iam("GetUser", &[("UserName", user)]).0 == 200
    }

    pub fn access_key_ids(&self, user: &str) -> Vec<String> {
        let (_, body) = self.iam("ListAccessKeys", &[("UserName", user)]);
        body.split("<AccessKeyId>")
            .skip(1)
            .map(|s| s.split('<').next().unwrap().to_string())
            .collect()
    }

    /// When moto recorded the last use of access key `id`, if it did.
    pub fn key_last_used(&self, id: &str) -> Option<jiff::Timestamp> {
        let (_, body) = self.iam("GetAccessKeyLastUsed", &[("AccessKeyId", id)]);
        body.split("<LastUsedDate>")
            .nth(1)?
            .split('<')
            .next()?
            .parse()
            .ok()
    }

    pub fn has_login_profile(&self, user: &str) -> bool {
        self.iam("GetLoginProfile", &[("UserName", user)]).0 == 200
    }

    /// Environment for a handoff run against this server (or a proxy in front of it).
    pub fn env_for(cmd: &mut Command, port: u16) {
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("AWS_EC2_METADATA_DISABLED", "true");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// How the proxy fails an action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// HTTP 500 InternalFailure, not forwarded.
    ServerError,
    /// HTTP 400 Throttling, not forwarded.
    Throttling,
    /// The connection is closed without an answer, not forwarded.
    Drop,
    /// HTTP 200 with a body that is not XML, not forwarded.
    Garbage,
    /// Forwarded (the change happens), then the connection is closed: a lost reply.
    LostReply,
    /// Forwarded (the change happens), then answered HTTP 200 with a body that is not
    /// XML: a reply that arrived but cannot be read.
    GarbledReply,
    /// Forwarded and answered, but only after a one-second pause: a slow server.
    Slow,
    /// Never answered (the connection stays open for 60 s), not forwarded.
    Hang,
    /// Not a fault: forwarded signed as the test's admin instead of the caller's key.
    /// moto records a use of a key before it answers, so GetAccessKeyLastUsed made with
    /// a key always reports that very call; AWS records uses with a delay of minutes,
    /// so the call sees the uses before it. This makes moto answer as AWS would.
    AsAdmin,
}

pub const ALL_FAULTS: [Fault; 6] = [
    Fault::ServerError,
    Fault::Throttling,
    Fault::Drop,
    Fault::Garbage,
    Fault::LostReply,
    Fault::GarbledReply,
];

/// A proxy in front of moto that fails chosen actions and counts every action.
pub struct Proxy {
    pub port: u16,
    faults: Arc<Mutex<Vec<(String, Fault)>>>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults: Arc<Mutex<Vec<(String, Fault)>>> = Arc::default();
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (f, c) = (faults.clone(), counts.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (f, c) = (f.clone(), c.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, upstream, &f, &c);
                });
            }
        });
        Proxy {
            port,
            faults,
            counts,
        }
    }

    /// Fails `action` with `fault` from now on (several may be set).
    pub fn fail(&self, action: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .push((action.to_string(), fault));
    }

    pub fn clear(&self) {
        self.faults.lock().unwrap().clear();
        self.counts.lock().unwrap().clear();
    }

    pub fn count(&self, action: &str) -> usize {
        *self.counts.lock().unwrap().get(action).unwrap_or(&0)
    }
}

fn read_request(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = conn.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(buf);
        }
    }
}

fn handle(
    mut conn: TcpStream,
    upstream: u16,
    faults: &Mutex<Vec<(String, Fault)>>,
    counts: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    let request = read_request(&mut conn)?;
    let text = String::from_utf8_lossy(&request);
    let action = text
        .split("Action=")
        .nth(1)
        .map(|s| s.split('&').next().unwrap_or("").to_string())
        .unwrap_or_default();
    *counts.lock().unwrap().entry(action.clone()).or_default() += 1;
    let fault = faults
        .lock()
        .unwrap()
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, f)| *f);
    let reply = |conn: &mut TcpStream, status: &str, body: &str| {
        write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let error_xml = |code: &str| {
        format!(
            "<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>injected by the test proxy</Message></Error><RequestId>x</RequestId></ErrorResponse>"
        )
    };
    match fault {
        Some(Fault::ServerError) => {
            return reply(
                &mut conn,
                "500 Internal Server Error",
                &error_xml("InternalFailure"),
            );
        }
        Some(Fault::Throttling) => {
            return reply(&mut conn, "400 Bad Request", &error_xml("Throttling"));
        }
        Some(Fault::Drop) => return Ok(()),
        Some(Fault::Garbage) => return reply(&mut conn, "200 OK", "<<<this is not xml"),
        Some(Fault::Hang) => {
            // A fixed sleep on purpose: the fault *is* time passing (a server that
            // never answers, longer than handoff's 20 s attempt timeout).
            std::thread::sleep(std::time::Duration::from_secs(60));
            return Ok(());
        }
        // A fixed sleep on purpose: the fault *is* time passing (a slow server).
        Some(Fault::Slow) => std::thread::sleep(std::time::Duration::from_secs(1)),
        _ => {}
    }
    let request = if fault == Some(Fault::AsAdmin) {
        as_admin(&request)
    } else {
        request
    };
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(&request)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    if fault == Some(Fault::LostReply) {
        return Ok(());
    }
    if fault == Some(Fault::GarbledReply) {
        return reply(&mut conn, "200 OK", "<<<this is not xml");
    }
    conn.write_all(&response)
}

/// The request with the access key id of its SigV4 `Credential=` replaced by the
/// test's admin key id (moto does not check signatures).
fn as_admin(request: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    let Some(start) = text.find("Credential=").map(|i| i + "Credential=".len()) else {
        return request.to_vec();
    };
    let end = start + text[start..].find('/').unwrap_or(0);
    let mut out = request[..start].to_vec();
    out.extend_from_slice(b"testing");
    out.extend_from_slice(&request[end..]);
    out
}

impl TestEnv {
    /// Runs handoff against an IAM server on `port`.
    pub fn run_aws(&self, port: u16, args: &[&str]) -> crate::support::Run {
        let mut c = self.cmd();
        Moto::env_for(&mut c, port);
        crate::support::Run::from_output(c.args(args).output().unwrap())
    }
}
