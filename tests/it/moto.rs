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

/// The user an authed server's admin key belongs to ([`Moto::start_authed`]).
pub const HARNESS_ADMIN: &str = "harness-admin";

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// With authentication on ([`Moto::start_authed`]): the admin key every raw query
    /// is signed with, and that handoff runs with.
    pub admin: Option<(String, String)>,
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
            let mut moto = Moto {
                child,
                port,
                admin: None,
            };
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

    /// moto as AWS behaves: every request must be signed (SigV4) by an access key that
    /// exists in its IAM, and is allowed only what that key's user's policies allow.
    /// The admin user (AdministratorAccess) is made while authentication is still off.
    pub fn start_authed() -> Option<Moto> {
        let mut moto = Moto::start()?;
        let (status, _) = moto.iam("CreateUser", &[("UserName", HARNESS_ADMIN)]);
        assert_eq!(status, 200, "CreateUser harness-admin");
        let arn = "arn:aws:iam::aws:policy/AdministratorAccess";
        let attach = [("UserName", HARNESS_ADMIN), ("PolicyArn", arn)];
        assert_eq!(moto.iam("AttachUserPolicy", &attach).0, 200);
        let (_, body) = moto.iam("CreateAccessKey", &[("UserName", HARNESS_ADMIN)]);
        let field = |name: &str| {
            body.split(&format!("<{name}>"))
                .nth(1)
                .and_then(|s| s.split('<').next())
                .expect("CreateAccessKey's answer")
                .to_string()
        };
        moto.admin = Some((field("AccessKeyId"), field("SecretAccessKey")));
        // From now on every request is checked.
        let (status, _) = http(moto.port, "POST", "/moto-api/reset-auth", "0", None);
        assert_eq!(status, 200, "reset-auth");
        Some(moto)
    }

    /// Environment for a handoff run signed by the admin key (against this server or
    /// a proxy in front of it).
    pub fn admin_env(&self, cmd: &mut Command, port: u16) {
        Moto::env_for(cmd, port);
        let (id, secret) = self.admin.clone().expect("an authed moto");
        cmd.env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A raw IAM query, signed by the admin key when authentication is on: returns
    /// (status, body).
    pub fn iam(&self, action: &str, params: &[(&str, &str)]) -> (u16, String) {
        let mut body = format!("Action={action}&Version=2010-05-08");
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", urlencode(v)));
        }
        http(self.port, "POST", "/", &body, self.admin.as_ref())
    }

    /// moto's whole state as JSON text.
    pub fn state(&self) -> String {
        http(self.port, "GET", "/moto-api/data.json", "", None).1
    }

    /// The users in IAM, but for the harness's own admin.
    pub fn user_names(&self) -> Vec<String> {
        let (_, body) = self.iam("ListUsers", &[]);
        body.split("<UserName>")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .filter(|name| *name != HARNESS_ADMIN)
            .map(str::to_string)
            .collect()
    }

    /// Every access key in IAM, but for the harness admin's.
    pub fn all_access_key_ids(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .user_names()
            .iter()
            .flat_map(|user| self.access_key_ids(user))
            .collect();
        if self.admin.is_none() {
            return keys;
        }
        keys.extend(
            self.access_key_ids(HARNESS_ADMIN)
                .into_iter()
                .filter(|id| Some(id) != self.admin.as_ref().map(|(admin, _)| admin)),
        );
        keys
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

fn http(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    key: Option<&(String, String)>,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let host = format!("127.0.0.1:{port}");
    // moto's own API reads the raw body, which a form type would have parsed away
    let content_type = if path.starts_with("/moto-api") {
        "text/plain"
    } else {
        "application/x-www-form-urlencoded"
    };
    let date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let authorization = match key {
        Some((id, secret)) => sigv4(id, secret, method, &host, content_type, &date, body),
        // moto without authentication reads only the key id
        None => "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0".into(),
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nX-Amz-Date: {date}\r\nAuthorization: {authorization}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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

/// The SigV4 `Authorization` header of an IAM query to `/` (us-east-1, service iam),
/// signing content-type, host and x-amz-date.
fn sigv4(
    id: &str,
    secret: &str,
    method: &str,
    host: &str,
    content_type: &str,
    date: &str,
    body: &str,
) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mac = |key: &[u8], data: &str| {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    let day = &date[..8];
    let scope = format!("{day}/us-east-1/iam/aws4_request");
    let signed = "content-type;host;x-amz-date";
    let canonical = format!(
        "{method}\n/\n\ncontent-type:{content_type}\nhost:{host}\nx-amz-date:{date}\n\n{signed}\n{}",
        hex(&Sha256::digest(body.as_bytes()))
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = mac(format!("AWS4{secret}").as_bytes(), day);
    for part in ["us-east-1", "iam", "aws4_request"] {
        key = mac(&key, part);
    }
    format!(
        "AWS4-HMAC-SHA256 Credential={id}/{scope}, SignedHeaders={signed}, Signature={}",
        hex(&mac(&key, &to_sign))
    )
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
    /// HTTP 403 ExpiredToken, not forwarded: the session that signed it has expired.
    ExpiredToken,
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

/// A proxy in front of moto that fails chosen actions and counts every action, and
/// makes moto behave more like AWS over a real network: a delay per request (a round
/// trip) and per new connection (TCP and TLS set-up), a new access key refused with
/// `InvalidClientTokenId` for a while after the CreateAccessKey that made it (IAM's
/// propagation), and HTTP/1.1 keep-alive, so a client can reuse its connection. Every
/// request is logged with its start and end, to count sequential rounds.
pub struct Proxy {
    pub port: u16,
    faults: Arc<Mutex<Vec<(String, Fault)>>>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    wan: Arc<Mutex<Wan>>,
}

/// The network and propagation the proxy adds.
#[derive(Default)]
struct Wan {
    /// Added to every request (one round trip).
    rtt: Duration,
    /// Round trips added when a connection is opened.
    connect_rtts: u32,
    /// How long a new key is refused after its CreateAccessKey.
    hold: Duration,
    /// Keys seen minted, and when.
    minted: HashMap<String, Instant>,
    /// Every request: (action, signing key id, start, end).
    log: Vec<Logged>,
    /// Connections opened.
    connections: usize,
}

/// One request the proxy answered.
#[derive(Debug, Clone)]
pub struct Logged {
    pub action: String,
    pub key: String,
    pub start: Instant,
    pub end: Instant,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults: Arc<Mutex<Vec<(String, Fault)>>> = Arc::default();
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let wan: Arc<Mutex<Wan>> = Arc::default();
        let (f, c, w) = (faults.clone(), counts.clone(), wan.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (f, c, w) = (f.clone(), c.clone(), w.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &f, &c, &w);
                });
            }
        });
        Proxy {
            port,
            faults,
            counts,
            wan,
        }
    }

    /// Adds `rtt` to every request and `connect_rtts` round trips to each new
    /// connection.
    pub fn latency(&self, rtt: Duration, connect_rtts: u32) {
        let mut w = self.wan.lock().unwrap();
        w.rtt = rtt;
        w.connect_rtts = connect_rtts;
    }

    /// Refuses each new access key with `InvalidClientTokenId` for `hold` after the
    /// CreateAccessKey that made it (requests signed with it are not forwarded).
    pub fn hold_new_keys(&self, hold: Duration) {
        self.wan.lock().unwrap().hold = hold;
    }

    /// Treats `id` as minted now (a key made before the proxy was in the way).
    pub fn minted(&self, id: &str) {
        self.wan
            .lock()
            .unwrap()
            .minted
            .insert(id.to_string(), Instant::now());
    }

    /// Every request answered so far, in the order they started.
    pub fn log(&self) -> Vec<Logged> {
        let mut log = self.wan.lock().unwrap().log.clone();
        log.sort_by_key(|l| l.start);
        log
    }

    /// How many connections clients opened.
    pub fn connections(&self) -> usize {
        self.wan.lock().unwrap().connections
    }

    /// Sequential rounds: a request that starts after every request before it has
    /// ended begins a new round; overlapping requests share one.
    pub fn rounds(&self) -> usize {
        let mut rounds = 0;
        let mut end: Option<Instant> = None;
        for l in self.log() {
            match end {
                Some(e) if l.start < e => end = Some(e.max(l.end)),
                _ => {
                    rounds += 1;
                    end = Some(l.end);
                }
            }
        }
        rounds
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
        self.wan.lock().unwrap().log.clear();
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

/// Serves one client connection: requests one after another until it closes.
fn serve(
    mut conn: TcpStream,
    upstream: u16,
    faults: &Mutex<Vec<(String, Fault)>>,
    counts: &Mutex<HashMap<String, usize>>,
    wan: &Mutex<Wan>,
) -> std::io::Result<()> {
    let setup = {
        let mut w = wan.lock().unwrap();
        w.connections += 1;
        w.rtt * w.connect_rtts
    };
    let mut first = true;
    loop {
        let request = read_request(&mut conn)?;
        if request.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        if std::mem::take(&mut first) {
            // A fixed sleep on purpose: the delay *is* the network's.
            std::thread::sleep(setup);
        }
        let text = String::from_utf8_lossy(&request).to_string();
        let field = |from: &str, to: char| {
            text.split(from)
                .nth(1)
                .map(|s| s.split(to).next().unwrap_or("").to_string())
                .unwrap_or_default()
        };
        let (action, key) = (field("Action=", '&'), field("Credential=", '/'));
        let rtt = wan.lock().unwrap().rtt;
        std::thread::sleep(rtt);
        let keep = handle(
            &mut conn, &request, &action, &key, upstream, faults, counts, wan,
        )?;
        wan.lock().unwrap().log.push(Logged {
            action,
            key,
            start,
            end: Instant::now(),
        });
        if !keep {
            return Ok(());
        }
    }
}

/// Answers one request; false when the connection is to be closed.
#[allow(clippy::too_many_arguments)]
fn handle(
    conn: &mut TcpStream,
    request: &[u8],
    action: &str,
    key: &str,
    upstream: u16,
    faults: &Mutex<Vec<(String, Fault)>>,
    counts: &Mutex<HashMap<String, usize>>,
    wan: &Mutex<Wan>,
) -> std::io::Result<bool> {
    *counts
        .lock()
        .unwrap()
        .entry(action.to_string())
        .or_default() += 1;
    let fault = faults
        .lock()
        .unwrap()
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, f)| *f);
    let reply = |conn: &mut TcpStream, status: &str, body: &str| {
        write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .map(|()| true)
    };
    let error_xml = |code: &str| {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected by the test proxy</Message></Error><RequestId>x</RequestId></ErrorResponse>"
        )
    };
    let held = {
        let w = wan.lock().unwrap();
        w.minted.get(key).is_some_and(|t| t.elapsed() < w.hold)
    };
    if held {
        return reply(conn, "403 Forbidden", &error_xml("InvalidClientTokenId"));
    }
    match fault {
        Some(Fault::ServerError) => {
            return reply(
                conn,
                "500 Internal Server Error",
                &error_xml("InternalFailure"),
            );
        }
        Some(Fault::Throttling) => {
            return reply(conn, "400 Bad Request", &error_xml("Throttling"));
        }
        Some(Fault::ExpiredToken) => {
            return reply(conn, "403 Forbidden", &error_xml("ExpiredToken"));
        }
        Some(Fault::Drop) => return Ok(false),
        Some(Fault::Garbage) => return reply(conn, "200 OK", "<<<this is not xml"),
        Some(Fault::Hang) => {
            // A fixed sleep on purpose: the fault *is* time passing (a server that
            // never answers, longer than handoff's 20 s attempt timeout).
            std::thread::sleep(std::time::Duration::from_secs(60));
            return Ok(false);
        }
        // A fixed sleep on purpose: the fault *is* time passing (a slow server).
        Some(Fault::Slow) => std::thread::sleep(std::time::Duration::from_secs(1)),
        _ => {}
    }
    let request = if fault == Some(Fault::AsAdmin) {
        as_admin(request)
    } else {
        request.to_vec()
    };
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(&request)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    if fault == Some(Fault::LostReply) {
        return Ok(false);
    }
    if fault == Some(Fault::GarbledReply) {
        return reply(conn, "200 OK", "<<<this is not xml");
    }
    // moto words its authentication errors as EC2 does (`<Errors><Error>`), not as
    // IAM and STS do: passed on as they are, handoff must read them (as botocore does).
    let (status, body) = split_response(&response);
    if action == "CreateAccessKey" {
        let body = String::from_utf8_lossy(&body);
        if let Some(id) = body
            .split("<AccessKeyId>")
            .nth(1)
            .and_then(|s| s.split('<').next())
        {
            wan.lock()
                .unwrap()
                .minted
                .insert(id.to_string(), Instant::now());
        }
    }
    // moto answers HTTP/1.0 and closes; the client gets HTTP/1.1, kept alive.
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    conn.write_all(&body)?;
    Ok(true)
}

/// An upstream answer's status ("200 OK") and body.
fn split_response(response: &[u8]) -> (String, Vec<u8>) {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..end]);
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_once(' '))
        .map(|(_, s)| s.to_string())
        .unwrap_or_else(|| "502 Bad Gateway".into());
    let body = response.get(end + 4..).unwrap_or_default().to_vec();
    (status, body)
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
    /// Signs this env's AWS runs with an authed server's admin key, as a real
    /// administrator's runs are signed.
    pub fn sign_with(&self, moto: &Moto) {
        if let Some(key) = &moto.admin {
            let _ = self.aws_key.set(key.clone());
        }
    }

    /// Environment for a handoff run against an IAM server (or a proxy) on `port`,
    /// signed with this env's key.
    pub fn aws_env(&self, cmd: &mut Command, port: u16) {
        Moto::env_for(cmd, port);
        if let Some((id, secret)) = self.aws_key.get() {
            cmd.env("AWS_ACCESS_KEY_ID", id)
                .env("AWS_SECRET_ACCESS_KEY", secret);
        }
    }

    /// Runs handoff against an IAM server on `port`.
    pub fn run_aws(&self, port: u16, args: &[&str]) -> crate::support::Run {
        let mut c = self.cmd();
        self.aws_env(&mut c, port);
        crate::support::Run::from_output(c.args(args).output().unwrap())
    }
}
