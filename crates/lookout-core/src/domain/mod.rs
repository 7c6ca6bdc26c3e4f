//! The domain: pure code, no I/O, no AWS types.

pub mod alert;
pub mod audit;
pub mod failover;
pub mod grouped;
pub mod heartbeat;
pub mod incident;
pub mod location;
pub mod maintenance;
mod rebase;
pub mod result;
pub mod secret_ref;
pub mod shard;
pub mod slo;
pub mod state;
pub mod status_page;
pub mod target;

pub use alert::{Alert, AlertKind, Change, Severity};
pub use location::{LocationSplit, LocationVerdict, Quorum, QuorumDecision};
pub use maintenance::MaintenanceWindow;
pub use result::{CheckResult, ErrorKind, Outcome};
pub use shard::Shard;
pub use state::{apply_override, next_state, Override, Status, TargetState};
pub use target::{
    Check, CheckKind, DnsCheck, HeartbeatCheck, ProxyCheck, ProxyType, ServerCheck, StatusRange,
    Target, TargetKind, TcpCheck, TlsCheck, ValidationError, MAX_BODY_CAP_BYTES, MAX_REDIRECTS,
};
