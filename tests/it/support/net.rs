//! Real network servers on loopback for the instance check: a DNS server, TLS
//! servers with test certificates (one whose certificate can be swapped
//! while it runs), plain HTTP servers that do or do not behave like GitLab,
//! a closed port and a black hole. Tests start them on port 0; each server
//! stops when its handle is dropped.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::rdata::A;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Aborts a server task when the test lets go of the server.
pub struct Task(pub JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---------------------------------------------------------------- DNS

/// An authoritative-looking DNS server on UDP: A records from a map,
/// SERVFAIL for chosen names, NXDOMAIN for everything else. AAAA queries for
/// known names get an empty NOERROR answer, like a v4-only host.
pub struct DnsServer {
    pub addr: SocketAddr,
    /// Every question asked, as "NAME TYPE", so tests can see real lookups.
    queries: Arc<Mutex<Vec<String>>>,
    _task: Task,
}

/// What the DNS server knows.
#[derive(Default, Clone)]
pub struct Zone {
    a: HashMap<String, Ipv4Addr>,
    servfail: Vec<String>,
    /// Names that exist but have no address records.
    empty: Vec<String>,
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    pub fn a(mut self, name: &str, ip: Ipv4Addr) -> Zone {
        self.a.insert(normalise(name), ip);
        self
    }

    pub fn servfail(mut self, name: &str) -> Zone {
        self.servfail.push(normalise(name));
        self
    }

    /// A name that exists (NOERROR) but has no A or AAAA record.
    pub fn empty(mut self, name: &str) -> Zone {
        self.empty.push(normalise(name));
        self
    }

    fn answer(&self, request: &Message) -> Message {
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.metadata.authoritative = true;
        response.add_queries(request.queries.clone());
        for query in &request.queries {
            let name = normalise(&query.name().to_ascii());
            if self.servfail.contains(&name) {
                response.metadata.response_code = ResponseCode::ServFail;
            } else if let Some(ip) = self.a.get(&name) {
                if query.query_type() == RecordType::A {
                    response.add_answer(Record::from_rdata(query.name().clone(), 60, RData::A(A(*ip))));
                }
            } else if !self.empty.contains(&name) {
                response.metadata.response_code = ResponseCode::NXDomain;
            }
        }
        response
    }
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsServer {
    pub async fn start(zone: Zone) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind DNS socket");
        let addr = socket.local_addr().expect("DNS address");
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = queries.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let Ok(request) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                record_questions(&request, &seen);
                if let Ok(bytes) = zone.answer(&request).to_vec() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        DnsServer {
            addr,
            queries,
            _task: Task(task),
        }
    }

    /// The questions asked so far.
    pub fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

/// Records a DNS request's questions as "NAME TYPE".
fn record_questions(request: &Message, seen: &Mutex<Vec<String>>) {
    let mut seen = seen.lock().unwrap();
    for q in &request.queries {
        seen.push(format!("{} {}", normalise(&q.name().to_ascii()), q.query_type()));
    }
}

/// A DNS server that never answers: it reads the questions that come over
/// UDP (to count them), and accepts TCP connections on the same port and
/// holds them (so a fallback to TCP waits too, instead of being refused).
pub struct SilentDns {
    pub addr: SocketAddr,
    /// Every UDP question as "NAME TYPE", and "tcp connection" for each TCP one.
    queries: Arc<Mutex<Vec<String>>>,
    _task: Task,
}

impl SilentDns {
    pub async fn start() -> SilentDns {
        // The UDP port may be taken for TCP by someone else; try a few.
        for _ in 0..20 {
            let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
            let addr = udp.local_addr().expect("UDP address");
            if let Ok(tcp) = TcpListener::bind(addr).await {
                let queries = Arc::new(Mutex::new(Vec::new()));
                let task = tokio::spawn(stay_silent(udp, tcp, queries.clone()));
                return SilentDns {
                    addr,
                    queries,
                    _task: Task(task),
                };
            }
        }
        panic!("no port free for both UDP and TCP");
    }

    /// The questions asked (and TCP connections opened) so far.
    pub fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

async fn stay_silent(udp: UdpSocket, tcp: TcpListener, seen: Arc<Mutex<Vec<String>>>) {
    // Held connections live as long as the server task.
    let mut held = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            received = udp.recv_from(&mut buf) => {
                if let Some(request) = received.ok().and_then(|(len, _)| Message::from_vec(&buf[..len]).ok()) {
                    record_questions(&request, &seen);
                }
            }
            accepted = tcp.accept() => {
                if let Ok((stream, _)) = accepted {
                    seen.lock().unwrap().push("tcp connection".to_owned());
                    held.push(stream);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- HTTP

/// A canned HTTP answer.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    reason: &'static str,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    pub fn new(status: u16, reason: &'static str, content_type: &str, body: &str) -> Reply {
        Reply {
            status,
            reason,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// What GitLab's `/api/v4/version` says with a valid token.
    pub fn gitlab_version() -> Reply {
        Reply::new(
            200,
            "OK",
            "application/json",
            r#"{"version":"16.11.0","revision":"abc"}"#,
        )
    }

    /// What it says without one (docs/gitlab.md §5).
    pub fn gitlab_unauthorized() -> Reply {
        Reply::new(
            401,
            "Unauthorized",
            "application/json",
            r#"{"message":"401 Unauthorized"}"#,
        )
    }

    /// Some web site that is not GitLab.
    pub fn html_page() -> Reply {
        Reply::new(
            200,
            "OK",
            "text/html; charset=utf-8",
            "<!doctype html><title>Welcome</title><h1>Hello</h1>",
        )
    }

    pub fn bad_gateway() -> Reply {
        Reply::new(
            502,
            "Bad Gateway",
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    }

    pub fn redirect(location: &str) -> Reply {
        let mut reply = Reply::new(301, "Moved Permanently", "text/html", "");
        reply.headers.push(("Location".into(), location.into()));
        reply
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// What a server does with a connection.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Read the request head, send the reply, close.
    Answer(Reply),
    /// Accept and hold the connection without ever answering.
    Silent,
}

/// An HTTP (or HTTPS) server with a fixed behaviour. It records the head of
/// every request it reads.
pub struct HttpServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    _task: Task,
}

impl HttpServer {
    /// Plain HTTP.
    pub async fn start(behaviour: Behaviour) -> HttpServer {
        HttpServer::serve(behaviour, None).await
    }

    /// HTTPS with the given certificate; the HTTP part behaves like GitLab,
    /// so only the certificate differs between TLS tests.
    pub async fn tls(identity: &Identity) -> HttpServer {
        HttpServer::tls_with(identity, Behaviour::Answer(Reply::gitlab_version())).await
    }

    /// HTTPS with another behaviour behind the certificate.
    pub async fn tls_with(identity: &Identity, behaviour: Behaviour) -> HttpServer {
        HttpServer::serve(behaviour, Some(identity.acceptor())).await
    }

    /// The request heads read so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    async fn serve(behaviour: Behaviour, tls: Option<TlsAcceptor>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind HTTP");
        let addr = listener.local_addr().expect("HTTP address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            // Held connections live as long as the server task.
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                match &behaviour {
                    Behaviour::Silent => held.push(stream),
                    Behaviour::Answer(reply) => {
                        let (reply, seen, tls) = (reply.clone(), seen.clone(), tls.clone());
                        tokio::spawn(async move { handle(stream, tls, reply, seen).await });
                    }
                }
            }
        });
        HttpServer {
            addr,
            requests,
            _task: Task(task),
        }
    }
}

async fn handle(stream: TcpStream, tls: Option<TlsAcceptor>, reply: Reply, seen: Arc<Mutex<Vec<String>>>) {
    match tls {
        None => answer(stream, reply, seen).await,
        // A client that rejects the certificate ends the handshake here.
        Some(acceptor) => {
            if let Ok(stream) = acceptor.accept(stream).await {
                answer(stream, reply, seen).await;
            }
        }
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, reply: Reply, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        // Like nginx, answer garbage (say, a TLS ClientHello) with a 400
        // instead of waiting for a request line that never comes.
        if !head[0].is_ascii_uppercase() {
            let garbage = Reply::new(400, "Bad Request", "text/html", "<h1>400 Bad Request</h1>");
            let _ = stream.write_all(&garbage.to_bytes()).await;
            return;
        }
    }
    seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
    let _ = stream.write_all(&reply.to_bytes()).await;
    let _ = stream.shutdown().await;
}

// ---------------------------------------------------------------- TLS

/// A test certificate authority, written to a PEM file for `ca_file`.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
    _dir: TempDir,
    /// The CA certificate as PEM, for `ca_file`.
    pub pem_path: PathBuf,
}

/// A leaf certificate with its chain and key, ready to serve.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::from_secs(365 * 86_400);
        params.not_after = now + Duration::from_secs(10 * 365 * 86_400);
        let cert = params.self_signed(&key).expect("self-sign CA");
        let dir = tempfile::tempdir().expect("temp dir");
        let pem_path = dir.path().join("ca.pem");
        std::fs::write(&pem_path, cert.pem()).expect("write CA PEM");
        TestCa {
            issuer: Issuer::new(params, key),
            cert: cert.der().clone(),
            _dir: dir,
            pem_path,
        }
    }

    /// A server certificate for `names`, valid from `not_before` to `not_after`.
    pub fn leaf(&self, names: &[&str], not_before: OffsetDateTime, not_after: OffsetDateTime) -> Identity {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "labwatch test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Identity {
            chain: vec![cert.der().clone(), self.cert.clone()],
            key: key.serialize_der(),
        }
    }

    /// A server certificate for `names`, valid for a year from yesterday,
    /// and its key, both as PEM: for servers that read files
    /// (PostgreSQL's `ssl_cert_file` and `ssl_key_file`).
    pub fn leaf_pem(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "labwatch test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - days(1);
        params.not_after = now + days(365);
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        (cert.pem(), key.serialize_pem())
    }

    /// Valid for a year from yesterday.
    pub fn valid_leaf(&self, name: &str) -> Identity {
        let now = OffsetDateTime::now_utc();
        self.leaf(&[name], now - days(1), now + days(365))
    }
}

pub fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

impl Identity {
    fn acceptor(&self) -> TlsAcceptor {
        let config = server_config()
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.private_key())
            .expect("server certificate");
        TlsAcceptor::from(Arc::new(config))
    }

    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }

    fn certified_key(&self) -> Arc<CertifiedKey> {
        let provider = rustls::crypto::ring::default_provider();
        let key = CertifiedKey::from_der(self.chain.clone(), self.private_key(), &provider).expect("certified key");
        Arc::new(key)
    }
}

fn server_config() -> rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier> {
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
}

/// An HTTPS front for a plain HTTP server (the simulator): it terminates TLS
/// with a certificate that tests can swap while it runs — the way a renewed,
/// or a forgotten and expired, certificate replaces the old one in a real
/// reverse proxy — and relays the decrypted bytes to `upstream`.
pub struct TlsFront {
    pub addr: SocketAddr,
    certificate: Arc<SwappableCert>,
    /// TCP connections accepted, whether or not their handshake succeeded.
    connections: Arc<AtomicU64>,
    _task: Task,
}

/// Hands every new handshake the current certificate.
#[derive(Debug)]
struct SwappableCert(Mutex<Arc<CertifiedKey>>);

impl ResolvesServerCert for SwappableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.lock().unwrap().clone())
    }
}

impl TlsFront {
    pub async fn start(identity: &Identity, upstream: SocketAddr) -> TlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind TLS front");
        let addr = listener.local_addr().expect("TLS front address");
        let certificate = Arc::new(SwappableCert(Mutex::new(identity.certified_key())));
        let config = server_config()
            .with_no_client_auth()
            .with_cert_resolver(certificate.clone());
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let connections = Arc::new(AtomicU64::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay_tls(acceptor.clone(), stream, upstream));
            }
        });
        TlsFront {
            addr,
            certificate,
            connections,
            _task: Task(task),
        }
    }

    /// Serves `identity` from the next handshake on; connections already
    /// open keep the certificate they were made with.
    pub fn serve(&self, identity: &Identity) {
        *self.certificate.0.lock().unwrap() = identity.certified_key();
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn relay_tls(acceptor: TlsAcceptor, stream: TcpStream, upstream: SocketAddr) {
    // A client that rejects the certificate ends the handshake here.
    let Ok(mut tls) = acceptor.accept(stream).await else {
        return;
    };
    let Ok(mut plain) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
}

// ---------------------------------------------------------------- TCP

/// A loopback port where nothing listens: bound, then released.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address")
}

/// A port whose SYNs go unanswered, for `tcp-timeout`: a listener with a
/// backlog of 0 that never accepts, its accept queue filled with our own
/// connections, so the kernel drops further SYNs (Linux does, instead of
/// refusing, while `tcp_abort_on_overflow` is 0).
pub struct BlackHole {
    pub addr: SocketAddr,
    _listener: tokio::net::TcpListener,
    _fillers: Vec<TcpStream>,
}

impl BlackHole {
    pub async fn start() -> BlackHole {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
        let addr = socket.local_addr().expect("address");
        let listener = socket.listen(0).expect("listen");
        let mut fillers = Vec::new();
        // Connect until one is not accepted by the kernel in time: from then
        // on the queue is full. A completed handshake on loopback takes
        // microseconds, so 500 ms only ever expires on a dropped SYN.
        for _ in 0..64 {
            match tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => fillers.push(stream),
                Ok(Err(e)) => panic!("filling the black hole's accept queue failed: {e}"),
                Err(_) => {
                    return BlackHole {
                        addr,
                        _listener: listener,
                        _fillers: fillers,
                    };
                }
            }
        }
        panic!("the accept queue never filled: this kernel does not drop SYNs on a full queue");
    }
}
