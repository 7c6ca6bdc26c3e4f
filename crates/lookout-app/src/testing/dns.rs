//! A real DNS server on loopback for tests, built on `hickory-server`: an authoritative
//! in-memory zone ([`ZONE`]) served over UDP and TCP on one `127.0.0.1` port, which can be
//! switched to answer `SERVFAIL` or `REFUSED`, or to stay silent ([`DnsMode`]), and whose `A`
//! records can be replaced while it runs ([`DnsServer::set_a`]).
//!
//! The zone (`lookout.test.`):
//!
//! | name | type | data |
//! | --- | --- | --- |
//! | `lookout.test` | SOA | `ns1.lookout.test. hostmaster.lookout.test. 1 …` |
//! | `lookout.test` | NS | `ns1.lookout.test`, `ns2.lookout.test` |
//! | `lookout.test` | MX | `10 mx1.lookout.test`, `20 mx2.lookout.test` |
//! | `lookout.test` | TXT | `v=spf1 -all`; `hello world` (two strings, `hello ` and `world`) |
//! | `www.lookout.test` | A | `192.0.2.10`, `192.0.2.11` |
//! | `www.lookout.test` | AAAA | `2001:db8::10` |
//! | `alias.lookout.test` | CNAME | `www.lookout.test` |
//! | `big.lookout.test` | TXT | [`BIG_TXT_STRINGS`] strings of 200 `x` (more than a UDP answer holds) |

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Header, HeaderCounts, MessageType, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType, RrKey};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use hickory_server::Server;
use tokio::net::{TcpListener, UdpSocket};

/// The test zone's origin.
pub const ZONE: &str = "lookout.test.";

/// How many 200-byte strings `big.lookout.test`'s TXT record holds: 8 (1,600 bytes, more than
/// the 1,232 bytes an EDNS client takes over UDP, so the answer comes back truncated).
pub const BIG_TXT_STRINGS: usize = 8;

/// The records' TTL, s.
const TTL: u32 = 60;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DnsMode {
    /// From the zone (`NXDOMAIN` for names it lacks, `REFUSED` outside it).
    Answer = 0,
    /// `SERVFAIL` to everything.
    ServFail = 1,
    /// `REFUSED` to everything.
    Refused = 2,
    /// No answer at all (a time-out for the client).
    Silent = 3,
}

/// A running DNS server; it stops with the test's runtime.
pub struct DnsServer {
    /// The UDP and TCP address (the same port): `127.0.0.1:<port>`.
    pub addr: SocketAddr,
    state: Arc<Shared>,
    zone: Arc<InMemoryZoneHandler>,
}

struct Shared {
    mode: AtomicU8,
    udp_queries: AtomicU64,
    tcp_queries: AtomicU64,
}

struct Handler {
    catalog: Catalog,
    state: Arc<Shared>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let counter = match request.protocol() {
            Protocol::Udp => &self.state.udp_queries,
            _ => &self.state.tcp_queries,
        };
        counter.fetch_add(1, Ordering::SeqCst);
        let code = match self.state.mode.load(Ordering::SeqCst) {
            1 => ResponseCode::ServFail,
            2 => ResponseCode::Refused,
            3 => return unanswered(request),
            _ => {
                return self
                    .catalog
                    .handle_request::<R, T>(request, response_handle)
                    .await
            }
        };
        let response =
            MessageResponseBuilder::new(&request.queries, None).error_msg(&request.metadata, code);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => unanswered(request),
        }
    }
}

/// What the server reports of a request it did not answer (for its own bookkeeping only).
fn unanswered(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

impl DnsServer {
    /// Starts the server on `127.0.0.1` (UDP and TCP on one free port), answering from the zone.
    pub async fn start() -> DnsServer {
        let origin = name(ZONE);
        let zone = Arc::new(
            InMemoryZoneHandler::<TokioRuntimeProvider>::new(
                origin.clone(),
                records(),
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .expect("build the test zone"),
        );
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![zone.clone()]);
        let state = Arc::new(Shared {
            mode: AtomicU8::new(DnsMode::Answer as u8),
            udp_queries: AtomicU64::new(0),
            tcp_queries: AtomicU64::new(0),
        });
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().expect("local addr");
        let mut server = Server::new(Handler {
            catalog,
            state: state.clone(),
        });
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 32);
        tokio::spawn(async move {
            // Keeps the server (its tasks live in its join set) until the runtime ends.
            let _ = server.block_until_done().await;
        });
        DnsServer { addr, state, zone }
    }

    /// Switches how the server answers from now on.
    pub fn set_mode(&self, mode: DnsMode) {
        self.state.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Replaces the `A` records of `host` (a name in the zone, such as `www.lookout.test.`).
    pub async fn set_a(&self, host: &str, addrs: &[Ipv4Addr]) {
        let host = name(host);
        let serial = self.zone.serial().await + 1;
        let mut set = RecordSet::new(host.clone(), RecordType::A, serial);
        for ip in addrs {
            set.insert(
                Record::from_rdata(host.clone(), TTL, RData::A(A(*ip))),
                serial,
            );
        }
        self.zone.records_mut().await.insert(
            RrKey::new(LowerName::new(&host), RecordType::A),
            Arc::new(set),
        );
    }

    /// Queries received over UDP so far.
    pub fn udp_queries(&self) -> u64 {
        self.state.udp_queries.load(Ordering::SeqCst)
    }

    /// Queries received over TCP so far.
    pub fn tcp_queries(&self) -> u64 {
        self.state.tcp_queries.load(Ordering::SeqCst)
    }

    /// The address as a DNS check's `resolver` field: `127.0.0.1:<port>`.
    pub fn resolver(&self) -> String {
        self.addr.to_string()
    }
}

/// A UDP socket and a TCP listener on the same free loopback port.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        let addr = udp.local_addr().expect("local addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}

fn name(text: &str) -> Name {
    Name::from_str(text).expect("a valid test name")
}

/// The big TXT record's strings: [`BIG_TXT_STRINGS`] of 200 `x` each.
pub fn big_txt() -> String {
    "x".repeat(200 * BIG_TXT_STRINGS)
}

fn records() -> BTreeMap<RrKey, RecordSet> {
    let apex = name(ZONE);
    let www = name("www.lookout.test.");
    let rdata = vec![
        (
            apex.clone(),
            RData::SOA(SOA::new(
                name("ns1.lookout.test."),
                name("hostmaster.lookout.test."),
                1,
                3600,
                600,
                86_400,
                TTL,
            )),
        ),
        (apex.clone(), RData::NS(NS(name("ns1.lookout.test.")))),
        (apex.clone(), RData::NS(NS(name("ns2.lookout.test.")))),
        (
            apex.clone(),
            RData::MX(MX::new(10, name("mx1.lookout.test."))),
        ),
        (
            apex.clone(),
            RData::MX(MX::new(20, name("mx2.lookout.test."))),
        ),
        (
            apex.clone(),
            RData::TXT(TXT::new(vec!["v=spf1 -all".into()])),
        ),
        (
            apex.clone(),
            RData::TXT(TXT::new(vec!["hello ".into(), "world".into()])),
        ),
        (www.clone(), RData::A(A(Ipv4Addr::new(192, 0, 2, 10)))),
        (www.clone(), RData::A(A(Ipv4Addr::new(192, 0, 2, 11)))),
        (
            www.clone(),
            RData::AAAA(AAAA(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10))),
        ),
        (name("alias.lookout.test."), RData::CNAME(CNAME(www))),
        (
            name("big.lookout.test."),
            RData::TXT(TXT::new(vec!["x".repeat(200); BIG_TXT_STRINGS])),
        ),
    ];
    let mut map: BTreeMap<RrKey, RecordSet> = BTreeMap::new();
    for (owner, data) in rdata {
        let ty = data.record_type();
        map.entry(RrKey::new(LowerName::new(&owner), ty))
            .or_insert_with(|| RecordSet::new(owner.clone(), ty, 1))
            .insert(Record::from_rdata(owner, TTL, data), 1);
    }
    map
}
