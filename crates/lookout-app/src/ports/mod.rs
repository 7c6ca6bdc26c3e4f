//! Narrow traits the functions depend on, one file per concern. Each handler asks only for the
//! ports it uses, so its signature documents what it touches. Implementations live in
//! `lookout_aws` (DynamoDB, SNS, S3: the only code that sees aws-sdk types) and the
//! in-memory fakes of `crate::memory`.
//!
//! Ports speak domain types; the one exception is the whole-table copy of dumps, which moves
//! items it never looks into ([`Item`], opaque to the application).

mod alerts;
mod audit;
mod digests;
mod dump;
mod error;
mod heartbeats;
mod history;
mod incidents;
mod lease;
mod locations;
mod narratives;
mod notify;
mod publish;
mod runs;
mod shards;
mod slos;
mod state;
mod subscriptions;
mod targets;

pub use alerts::{AlertLog, AlertRecord, Outbox};
pub use audit::{
    new_audit_id, AuditCursor, AuditLog, AuditPage, AuditQuery, DEFAULT_AUDIT_LIMIT,
    DEFAULT_AUDIT_SPAN_DAYS, MAX_AUDIT_LIMIT, MAX_AUDIT_SPAN_DAYS,
};
// Alert delivery through the outbox is a use case (`crate::usecases::delivery`); re-exported
// here where callers have always found it.
pub use crate::usecases::delivery::{
    deliver, deliver_with, Delivery, DeliveryOptions, OUTBOX_CLAIM_MS,
};
pub use digests::{DigestStore, TargetUptime};
pub use dump::{
    DumpStore, IndexSchema, Item, ItemType, KeyAttribute, ObjectStream, RestoreTarget, ScanPage,
    TableScan, TableSchema, UploadedPart,
};
pub use error::{error_chain, StoreError};
pub use heartbeats::HeartbeatStore;
pub use history::HistoryStore;
pub use incidents::{IncidentStore, StatusPageStore};
pub use lease::{Lease, LeaseInfo, Located, RunLease};
pub use locations::LocationStore;
pub use narratives::{
    NarrativeClaim, NarrativeLedger, CLAIMED, MAX_REASON_CHARS, NARRATIVE_CALL_TTL_DAYS,
    TOKEN_MONTH_TTL_DAYS,
};
pub use notify::{
    ChannelStore, Claim, DeliveryLog, DeliveryOutcome, DeliveryPage, HttpSender, MailSender,
    ProviderAnswer, SendError,
};
pub use publish::{AlertPublisher, PublishError};
pub use runs::{KindSummary, RunRecord, RunStore, SummaryStore, SUMMARY_REFRESH_MS};
pub use shards::{ShardLayout, ShardQueue, ShardTask, Sharded};
pub use slos::SloStore;
pub use state::{catch_up_all, Latest, StateStore, SNAPSHOT_EVERY_MS};
pub use subscriptions::{IncidentNotices, NoticeError, SubscribeOutcome};
pub use targets::TargetStore;
