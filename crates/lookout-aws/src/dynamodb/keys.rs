//! Every key and attribute name of the table, in one place: the partition and sort keys of each
//! item shape (see the layout in [`super`]) and the attributes that conditions and indexes use.
//! A key format changes here or nowhere.

use lookout_app::ports::ItemType;
use lookout_core::domain::{Shard, TargetKind};

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// TTL attribute (epoch seconds).
pub const TTL: &str = "expires_at";
/// The sparse index: target definitions by kind, outbox rows still to publish.
pub(super) const GSI: &str = "gsi1";
/// Partition key attribute of [`GSI`].
pub(super) const GSI_PK: &str = "gsi1pk";
/// Sort key attribute of [`GSI`].
pub(super) const GSI_SK: &str = "gsi1sk";
/// Version attribute of definitions, state items and override rows (conditional writes).
pub(super) const VERSION: &str = "version";
/// Outbox row attribute: the delivery holding the row's claim.
pub(super) const CLAIMED_BY: &str = "claimed_by";
/// Outbox row attribute: when that claim expires, epoch ms.
pub(super) const CLAIM_UNTIL: &str = "claim_until";
/// Lease item attribute: the run holding the lease.
pub(super) const LEASE_HOLDER: &str = "holder";
/// Lease item attribute: when the lease ends, epoch ms.
pub(super) const LEASE_UNTIL: &str = "lease_until";
/// Lease item attribute: the event id the last finished run handled.
pub(super) const LEASE_DONE: &str = "done_event";
/// Layout item attribute: the kind's shard count.
pub(super) const LAYOUT_OF: &str = "of";
/// Layout item attribute: the count whose snapshots a view falls back to (see `shards.rs`).
pub(super) const LAYOUT_PREV: &str = "prev_of";
/// Layout item attribute: when the count last changed, epoch ms.
pub(super) const LAYOUT_CHANGED: &str = "changed_at";
/// Sort key of a layout item.
pub(super) const LAYOUT_SK: &str = "LAYOUT";

/// Sort key of a target's definition item.
pub(super) const CONFIG_SK: &str = "CONFIG";
/// Sort key of a target's state item.
pub(super) const STATE_SK: &str = "STATE";
/// Sort key of a summary item.
pub(super) const SUMMARY_SK: &str = "SUMMARY";
/// Sort key of a lease item.
pub(super) const LEASE_SK: &str = "LEASE";
/// Index partition of outbox rows still to publish.
pub(super) const OUTBOX_PENDING: &str = "OUTBOX#pending";
/// Partition of every notification channel's definition (sort key: the channel id). One
/// partition: a handful of items, listed with one strongly consistent query.
pub(super) const CHANNEL_PK: &str = "CHANNEL";
/// Partition of the status page's incidents and maintenance windows (sort key: the incident
/// id). One partition: incidents are few (hundreds in a bad quarter), listed with one query.
pub(super) const INCIDENTS_PK: &str = "INCIDENTS";
/// Partition of the definitions' version item (sort key [`DEFS_VERSION_SK`]): a counter every
/// definitions write adds one to, attribute [`VERSION`]; API instances validate their caches
/// with it.
pub(super) const DEFS_VERSION_PK: &str = "DEFSVERSION";
/// Sort key of the definitions' version item.
pub(super) const DEFS_VERSION_SK: &str = "VERSION";
/// Partition of the status pages' settings (sort key: the page's slug).
pub(super) const STATUS_PAGE_PK: &str = "STATUSPAGE";
/// Partition of the SLO definitions (sort key: the SLO id; the definition's JSON in `def`).
pub(super) const SLO_PK: &str = "SLO";
/// Partition of the SLO records (sort key: the SLO id; the record's JSON deflated in `z`):
/// the SLI's buckets and the firing alerts, rewritten by every probe round that counts a check.
pub(super) const SLO_RECORD_PK: &str = "SLOREC";
/// Partition of the heartbeat targets' ping records (sort key: the target id; the record's
/// JSON deflated in `z`, with its `version`): rewritten by every ping, read by the probe run.
pub(super) const PING_PK: &str = "PING";
/// Partition prefix of the audit log (`AUDIT#<YYYY-MM-DD>`, [`audit_pk`]).
pub(super) const AUDIT_PREFIX: &str = "AUDIT";
/// Audit row attribute: the entry (JSON).
pub(super) const AUDIT_ENTRY: &str = "entry";
/// Audit row attribute: the actor's name (`admin`).
pub(super) const AUDIT_ACTOR: &str = "actor";
/// Delivery record attribute: where the delivery stands (`sending`, `sent`, `failed`).
pub(super) const DELIVERY_STATUS: &str = "status";
/// Delivery record attribute: the channel's id.
pub(super) const DELIVERY_CHANNEL: &str = "channel_id";
/// Delivery record attribute: the alert's key.
pub(super) const DELIVERY_KEY: &str = "alert_key";
/// Delivery record attribute: requests made, over every try.
pub(super) const DELIVERY_ATTEMPTS: &str = "attempts";
/// Delivery record attribute: the last provider status code.
pub(super) const DELIVERY_PROVIDER_STATUS: &str = "provider_status";
/// Delivery record attribute: the last error, redacted.
pub(super) const DELIVERY_ERROR: &str = "last_error";
/// Delivery record attribute: first claimed, epoch ms.
pub(super) const CREATED_AT: &str = "created_at";
/// Delivery record attribute: last changed, epoch ms.
pub(super) const UPDATED_AT: &str = "updated_at";
/// Delivery record attribute: the alert as JSON.
pub(super) const DELIVERY_ALERT: &str = "alert";
/// Incident note attribute: the `at` (epoch ms) of the latest resolve a channel accepted.
pub(super) const RESOLVED_AT: &str = "resolved_at";

/// An instant as a sort key: epoch ms, 13 digits, so that text order is time order.
pub(super) fn ms_key(ms: i64) -> String {
    format!("{:013}", ms.max(0))
}

/// Sort key of chunk `i` of a chunked partition (snapshots, history shards, uptime): 4 digits.
pub(super) fn chunk_sk(i: usize) -> String {
    format!("{i:04}")
}

/// Partition of a target's definition and state items: `TARGET#<id>`.
pub(super) fn target_pk(id: &str) -> String {
    format!("TARGET#{id}")
}

/// Index partition listing the definitions of a kind: `TARGETS#<kind>`.
pub(super) fn targets_index_pk(kind: TargetKind) -> String {
    format!("TARGETS#{}", kind.as_str())
}

/// Partition of the snapshot of a kind: `SNAP#<kind>`, chunks by [`chunk_sk`].
pub(super) fn snapshot_pk(kind: TargetKind) -> String {
    format!("SNAP#{}", kind.as_str())
}

/// Partition of one history shard of the hour of `at_ms`:
/// `HIST#<kind>#<YYYY-MM-DDTHH>#<shard, 4 digits>`; sort key
/// the run time ([`ms_key`]).
pub(super) fn history_pk(kind: TargetKind, at_ms: i64, shard: usize) -> String {
    format!(
        "HIST#{}#{}#{shard:04}",
        kind.as_str(),
        lookout_core::time::hour(at_ms)
    )
}

/// Partition of the run records of a kind: `RUN#<kind>`.
pub(super) fn run_pk(kind: TargetKind) -> String {
    format!("RUN#{}", kind.as_str())
}

/// Sort key of a run record: `<start, 13 digits>#<run id>`.
pub(super) fn run_sk(started_at_ms: i64, run_id: &str) -> String {
    format!("{}#{run_id}", ms_key(started_at_ms))
}

/// Partition of the override rows of a kind: `OVERRIDE#<kind>`, sort key the target id.
pub(super) fn override_pk(kind: TargetKind) -> String {
    format!("OVERRIDE#{}", kind.as_str())
}

/// Partition of the summary of a kind: `SUMMARY#<kind>`.
pub(super) fn summary_pk(kind: TargetKind) -> String {
    format!("SUMMARY#{}", kind.as_str())
}

/// Partition of the lease of a kind: `LEASE#<kind>`.
pub(super) fn lease_pk(kind: TargetKind) -> String {
    format!("LEASE#{}", kind.as_str())
}

/// Partition of a target's rollups (`ROLLUP#<id>`), or of all targets of a kind
/// (`ROLLUP#*#<kind>`, target id `*`).
pub(super) fn rollup_pk(target_id: &str, kind: TargetKind) -> String {
    if target_id == "*" {
        format!("ROLLUP#*#{}", kind.as_str())
    } else {
        format!("ROLLUP#{target_id}")
    }
}

/// Sort key of a rollup: `H#<YYYY-MM-DDTHH>` or `D#<YYYY-MM-DD>`.
pub(super) fn rollup_sk(period: lookout_core::digest::rollup::Period, start_ms: i64) -> String {
    use lookout_core::digest::rollup::Period;
    match period {
        Period::Hour => format!("H#{}", lookout_core::time::hour(start_ms)),
        Period::Day => format!("D#{}", lookout_core::time::day(start_ms)),
    }
}

/// Partition of the digests of a scope (a target id or `global`): `DIGEST#<scope>`; sort key
/// the hour start ([`ms_key`]).
pub(super) fn digest_pk(scope: &str) -> String {
    format!("DIGEST#{scope}")
}

/// Partition of the narrative calls of a scope (a target id or `global`): `NARRATIVE#<scope>`;
/// sort key the hour start ([`ms_key`]).
pub(super) fn narrative_pk(scope: &str) -> String {
    format!("NARRATIVE#{scope}")
}

/// Partition of the narratives' token counts, one item per month (`YYYY-MM`).
pub(super) const NARRATIVE_TOKENS_PK: &str = "NARRATIVE_TOKENS";
/// Narrative call attribute: `claimed`, `done`, or why there is none.
pub(super) const NARRATIVE_OUTCOME: &str = "outcome";
/// Narrative call attribute: the narrative as JSON (when `done`).
pub(super) const NARRATIVE_TEXT: &str = "narrative";
/// Narrative call attribute: when the call was claimed, epoch ms.
pub(super) const NARRATIVE_CLAIMED_AT: &str = "claimed_at";
/// Token month attribute: the tokens counted.
pub(super) const NARRATIVE_TOKENS: &str = "tokens";

/// Partition of the uptime table of a kind: `UPTIME#<kind>`, chunks by [`chunk_sk`].
pub(super) fn uptime_pk(kind: TargetKind) -> String {
    format!("UPTIME#{}", kind.as_str())
}

/// Partition of the alerts raised on the day of `at_ms`: `ALERT#<YYYY-MM-DD>`.
pub(super) fn alert_pk(at_ms: i64) -> String {
    format!("ALERT#{}", lookout_core::time::day(at_ms))
}

/// Sort key of an alert row (and its outbox index key): `<at, 13 digits>#<alert key>`.
pub(super) fn alert_sk(at_ms: i64, key: &str) -> String {
    format!("{}#{key}", ms_key(at_ms))
}

/// Partition of one channel's delivery records: `DELIVERY#<channel id>`; sort key the alert
/// key, so that `(channel, alert key)` is one item and a conditional write claims it.
pub(super) fn delivery_pk(channel_id: &str) -> String {
    format!("DELIVERY#{channel_id}")
}

/// Partition of one channel's incident notes: `INCIDENT#<channel id>`; sort key the incident
/// key (PagerDuty `dedup_key`, Opsgenie `alias`), so that `(channel, incident)` is one item.
pub(super) fn incident_pk(channel_id: &str) -> String {
    format!("INCIDENT#{channel_id}")
}

/// Index partition of the delivery records of one status: `DELIVERIES#<status>` (distinct
/// from `TARGETS#<kind>` and `OUTBOX#pending`).
pub(super) fn deliveries_index_pk(status: lookout_core::notify::DeliveryStatus) -> String {
    format!("DELIVERIES#{}", status.as_str())
}

/// Index sort key of a delivery record: `<updated, 13-digit ms>#<channel id>#<alert key>`, so
/// that a reverse query lists the newest first and the key is unique.
pub(super) fn deliveries_index_sk(updated_ms: i64, channel_id: &str, alert_key: &str) -> String {
    format!("{}#{channel_id}#{alert_key}", ms_key(updated_ms))
}

/// Whether `sk` has the shape of [`deliveries_index_sk`] (a listing cursor is checked with it).
pub(super) fn is_deliveries_index_sk(sk: &str) -> bool {
    let mut parts = sk.splitn(3, '#');
    let (Some(ms), Some(channel), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    ms.len() == 13
        && ms.bytes().all(|b| b.is_ascii_digit())
        && !channel.is_empty()
        && !key.is_empty()
}

/// Index sort key of a definition: `<bucket, 4 digits>#<id>`
/// ([`lookout_core::domain::shard::target_bucket`]), so that a shard's definitions are one range
/// of the kind's index partition. Definitions written before shards have `<id>` (see
/// [`is_bucketed_index_sk`]).
pub(super) fn targets_index_sk(bucket: u32, id: &str) -> String {
    format!("{bucket:04}#{id}")
}

/// Whether `sk` has the shape of [`targets_index_sk`].
pub(super) fn is_bucketed_index_sk(sk: &str) -> bool {
    let b = sk.as_bytes();
    b.len() > 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'#'
}

/// The index sort keys of `shard`'s definitions, inclusive: from `<first bucket>#` to
/// `<last bucket>$` (`$` follows `#`).
pub(super) fn shard_index_range(shard: Shard) -> (String, String) {
    let buckets = shard.buckets();
    let last = buckets.end.saturating_sub(1).max(buckets.start);
    (format!("{:04}#", buckets.start), format!("{last:04}$"))
}

/// Partition of the snapshot of a view: [`snapshot_pk`] for the whole view,
/// `SNAP#<kind>#<index>of<of>` for a shard.
pub(super) fn shard_snapshot_pk(kind: TargetKind, shard: Shard) -> String {
    if shard.is_whole() {
        snapshot_pk(kind)
    } else {
        format!("SNAP#{}#{}", kind.as_str(), shard.label())
    }
}

/// Partition of one history chunk of a view: [`history_pk`] for the whole view,
/// `HIST#<kind>#<index>of<of>#<YYYY-MM-DDTHH>#<chunk, 4 digits>` for a shard.
pub(super) fn shard_history_pk(kind: TargetKind, shard: Shard, at_ms: i64, chunk: usize) -> String {
    if shard.is_whole() {
        history_pk(kind, at_ms, chunk)
    } else {
        format!(
            "HIST#{}#{}#{}#{chunk:04}",
            kind.as_str(),
            shard.label(),
            lookout_core::time::hour(at_ms)
        )
    }
}

/// Sort key of a lease item in [`lease_pk`]: `LEASE` for the whole kind,
/// `LEASE#<index>of<of>` for a shard's lease; either with `@<location>` after it for the lease
/// of a probe location other than the home one.
pub(super) fn lease_sk(shard: Shard, location: Option<&str>) -> String {
    let base = if shard.is_whole() {
        LEASE_SK.to_string()
    } else {
        format!("{LEASE_SK}#{}", shard.label())
    };
    match location {
        Some(l) => format!("{base}@{l}"),
        None => base,
    }
}

/// The shard and location a [`lease_sk`] names.
pub(super) fn lease_of_sk(sk: &str) -> Option<(Shard, Option<String>)> {
    let (base, location) = match sk.split_once('@') {
        Some((b, l)) => (b, Some(l.to_string())),
        None => (sk, None),
    };
    Some((shard_of_sk(base)?, location))
}

/// Sort key of a summary item in [`summary_pk`]: `SUMMARY` for the whole view,
/// `SUMMARY#<index>of<of>` for a shard's.
pub(super) fn summary_sk(shard: Shard) -> String {
    if shard.is_whole() {
        SUMMARY_SK.to_string()
    } else {
        format!("{SUMMARY_SK}#{}", shard.label())
    }
}

/// The shard a [`lease_sk`] or [`summary_sk`] names: [`Shard::WHOLE`] without a label, `None`
/// when the label is not `<index>of<of>`.
pub(super) fn shard_of_sk(sk: &str) -> Option<Shard> {
    match sk.split_once('#') {
        None => Some(Shard::WHOLE),
        Some((_, label)) => {
            let (i, of) = label.split_once("of")?;
            Shard::new(i.parse().ok()?, of.parse().ok()?)
        }
    }
}

/// Partition of the audit entries of the day of `at_ms` (UTC): `AUDIT#<YYYY-MM-DD>`.
pub(super) fn audit_pk(at_ms: i64) -> String {
    format!("{AUDIT_PREFIX}#{}", lookout_core::time::day(at_ms))
}

/// Sort key of an audit entry: `<at, 13-digit ms>#<id>`, so that text order is time order.
pub(super) fn audit_sk(at_ms: i64, id: &str) -> String {
    format!("{}#{id}", ms_key(at_ms))
}

/// Partition of the shard layout of a kind: `LAYOUT#<kind>`, sort key [`LAYOUT_SK`].
pub(super) fn layout_pk(kind: TargetKind) -> String {
    format!("LAYOUT#{}", kind.as_str())
}

/// The kind of item a partition key names, for `DUMP_INCLUDE`: definitions (`TARGET#…/CONFIG`),
/// notification channels (`CHANNEL`, their secrets sealed), state (`TARGET#…/STATE`,
/// snapshots, summaries, overrides, leases), history (`HIST#`, `RUN#`), rollups (`ROLLUP#`,
/// `DIGEST#`, `UPTIME#`) and alerts (`ALERT#`, and the delivery records `DELIVERY#<channel>`:
/// restored with the outbox, they keep an alert published again after a restore from being
/// sent to a channel twice; they hold the alert's redacted text, no channel secret, and
/// expire by TTL; with them the incident notes `INCIDENT#<channel>`, which keep a late
/// trigger from reopening an incident whose resolve was sent, and the status page's
/// incidents `INCIDENTS`; the status pages' settings `STATUSPAGE` are definitions) and the audit
/// log (`AUDIT#<day>`), from an item in
/// attribute-value JSON. Keys of no known shape count as state, so that nothing is left out of
/// a full dump.
pub fn item_type(item: &serde_json::Value) -> ItemType {
    let key = |name: &str| {
        item.get(name)
            .and_then(|v| v.get("S"))
            .and_then(|v| v.as_str())
    };
    let pk = key(PK).unwrap_or_default();
    let prefix = pk.split('#').next().unwrap_or_default();
    match prefix {
        "TARGET" if key(SK) == Some(CONFIG_SK) => ItemType::Definitions,
        CHANNEL_PK | STATUS_PAGE_PK | SLO_PK => ItemType::Definitions,
        INCIDENTS_PK => ItemType::Alerts,
        "DELIVERY" | "INCIDENT" => ItemType::Alerts,
        "HIST" | "RUN" => ItemType::History,
        "ROLLUP" | "DIGEST" | "UPTIME" | "NARRATIVE" | NARRATIVE_TOKENS_PK => ItemType::Rollups,
        "ALERT" => ItemType::Alerts,
        AUDIT_PREFIX => ItemType::Audit,
        _ => ItemType::State,
    }
}

/// Partition of the probe locations' verdicts of a kind: `VERDICT#<kind>` on the whole store,
/// `VERDICT#<kind>#<shard label>` (`VERDICT#server#3of10`) on a store narrowed to a shard; sort
/// key [`verdict_sk`].
pub(super) fn verdicts_pk(kind: TargetKind, shard: lookout_core::domain::Shard) -> String {
    if shard.is_whole() {
        format!("VERDICT#{}", kind.as_str())
    } else {
        format!("VERDICT#{}#{}", kind.as_str(), shard.label())
    }
}

/// Sort key of chunk `i` of a location's verdicts: `<location>#<chunk, 4 digits>`, so that one
/// location's chunks sort together and in order.
pub(super) fn verdict_sk(location: &str, i: usize) -> String {
    format!("{location}#{}", chunk_sk(i))
}

/// Partition of the locations' dead man's switches: `LOCATION`, sort key the location's name.
pub(super) const LOCATION_PK: &str = "LOCATION";
/// Location item attribute: when its probe last reported, epoch ms.
pub(super) const LAST_SEEN: &str = "last_seen";
/// Location item attribute: whether it was declared silent since (a boolean).
pub(super) const SILENT: &str = "silent";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_stored_shapes() {
        let hour = 1_764_558_000_000; // 2025-12-01T03:00Z
        assert_eq!(
            history_pk(TargetKind::Server, hour, 2),
            "HIST#server#2025-12-01T03#0002"
        );
        assert_eq!(run_sk(42, "r1"), "0000000000042#r1");
        assert_eq!(alert_sk(-5, "k"), "0000000000000#k");
        assert_eq!(rollup_pk("*", TargetKind::Proxy), "ROLLUP#*#proxy");
        assert_eq!(chunk_sk(7), "0007");
        let s = Shard::new(2, 3).unwrap();
        assert_eq!(shard_snapshot_pk(TargetKind::Server, s), "SNAP#server#2of3");
        assert_eq!(
            shard_snapshot_pk(TargetKind::Server, Shard::WHOLE),
            "SNAP#server"
        );
        assert_eq!(
            shard_history_pk(TargetKind::Proxy, s, hour, 1),
            "HIST#proxy#2of3#2025-12-01T03#0001"
        );
        assert_eq!(lease_sk(s, None), "LEASE#2of3");
        assert_eq!(lease_sk(Shard::WHOLE, Some("us-east-1")), "LEASE@us-east-1");
        assert_eq!(
            lease_of_sk("LEASE#2of3@us-east-1"),
            Some((s, Some("us-east-1".to_string())))
        );
        assert_eq!(lease_of_sk("LEASE"), Some((Shard::WHOLE, None)));
        assert_eq!(summary_sk(Shard::WHOLE), "SUMMARY");
        assert_eq!(shard_of_sk("LEASE#2of3"), Some(s));
        assert_eq!(shard_of_sk("SUMMARY"), Some(Shard::WHOLE));
        assert_eq!(shard_of_sk("LEASE#3of3"), None);
        assert_eq!(targets_index_sk(7, "web"), "0007#web");
        assert!(is_bucketed_index_sk("0007#web"));
        assert!(!is_bucketed_index_sk("web") && !is_bucketed_index_sk("0007web"));
        assert_eq!(
            shard_index_range(Shard::new(1, 2).unwrap()),
            ("0512#".to_string(), "1023$".to_string())
        );
        assert_eq!(layout_pk(TargetKind::Server), "LAYOUT#server");
        assert_eq!(delivery_pk("ops"), "DELIVERY#ops");
        assert_eq!(incident_pk("ops"), "INCIDENT#ops");
        let sk = deliveries_index_sk(42, "ops", "web#down#1");
        assert_eq!(sk, "0000000000042#ops#web#down#1");
        assert!(is_deliveries_index_sk(&sk));
        for bad in [
            "",
            "42#ops#k",
            "000000000004x#ops#k",
            "0000000000042##k",
            "0000000000042#ops",
        ] {
            assert!(!is_deliveries_index_sk(bad), "{bad}");
        }
        assert_eq!(
            deliveries_index_pk(lookout_core::notify::DeliveryStatus::Failed),
            "DELIVERIES#failed"
        );
    }

    #[test]
    fn item_types_follow_the_partition_key() {
        let item = |pk: &str, sk: &str| serde_json::json!({"pk": {"S": pk}, "sk": {"S": sk}});
        assert_eq!(
            item_type(&item("TARGET#a", "CONFIG")),
            ItemType::Definitions
        );
        assert_eq!(item_type(&item("TARGET#a", "STATE")), ItemType::State);
        assert_eq!(
            item_type(&item("HIST#server#x#0000", "1")),
            ItemType::History
        );
        assert_eq!(item_type(&item("DIGEST#global", "1")), ItemType::Rollups);
        assert_eq!(item_type(&item("ALERT#2025-12-01", "1")), ItemType::Alerts);
        assert_eq!(item_type(&item("CHANNEL", "ops")), ItemType::Definitions);
        assert_eq!(
            item_type(&item("DELIVERY#ops", "a#down#1")),
            ItemType::Alerts
        );
        assert_eq!(
            item_type(&item("INCIDENT#ops", "lookout/target/web")),
            ItemType::Alerts
        );
        assert_eq!(item_type(&serde_json::json!({})), ItemType::State);
        assert_eq!(
            item_type(&item("AUDIT#2026-12-02", "1764633600000#ab")),
            ItemType::Audit
        );
    }
}
