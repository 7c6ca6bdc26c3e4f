//! The prices and the monthly cost model of the bill: what one probe run and one digest hour
//! consumed (measured), turned into dollars a month for one deployment shape (locations, fan-out
//! invocations, storage layout).

/// Prices, us-east-1, read on 2026-11-22 from the AWS pricing pages named (on-demand, no free
/// tier counted), except where a line says otherwise.
pub mod price {
    /// DynamoDB on-demand, per write request unit: $0.625 per million
    /// (aws.amazon.com/dynamodb/pricing/on-demand/, since the 2024-11-01 price cut).
    pub const WRU: f64 = 0.625 / 1e6;
    /// DynamoDB on-demand, per replicated write request unit (a global table's write, charged
    /// in every replica Region): priced as a write request unit. Source: "Replicated write
    /// units (rWCUs and rWRUs) are priced the same as single-Region write units (WCUs and
    /// WRUs). Cross-Region data transfer fees apply", Amazon DynamoDB Developer Guide,
    /// "Understanding Amazon DynamoDB billing for global tables"
    /// (docs.aws.amazon.com/amazondynamodb/latest/developerguide/global-tables-billing.html),
    /// read 2026-12-01 in the stored copy of the `search` tool; updates of a global secondary
    /// index are billed as WRUs in each Region (same page), at the same price.
    pub const RWRU: f64 = WRU;
    /// DynamoDB on-demand, per read request unit: $0.125 per million (same page as [`WRU`]).
    pub const RRU: f64 = 0.125 / 1e6;
    /// DynamoDB Standard table storage, per GB-month: $0.25 (same page).
    pub const DDB_GB_MONTH: f64 = 0.25;
    /// Data transfer between AWS Regions, per GB, charged to the sending Region: $0.02 (the
    /// figure the issue gives; aws.amazon.com/ec2/pricing/on-demand/, "Data Transfer").
    pub const CROSS_REGION_GB: f64 = 0.02;
    /// Lambda on arm64, per GB-second: $0.0000133334 (aws.amazon.com/lambda/pricing/, first
    /// 7.5 billion GB-s).
    pub const GB_SECOND: f64 = 0.000_013_333_4;
    /// Lambda requests: $0.20 per million (same page).
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// SQS standard queue requests: $0.40 per million (aws.amazon.com/sqs/pricing/, after the
    /// first million a month).
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// SNS standard topic publishes: $0.50 per million (aws.amazon.com/sns/pricing/).
    pub const SNS_PUBLISH: f64 = 0.50 / 1e6;
    /// S3 Standard PUT, COPY, POST, LIST: $0.005 per 1,000 (aws.amazon.com/s3/pricing/).
    pub const S3_PUT: f64 = 0.005 / 1e3;
    /// S3 Standard storage, per GB-month: $0.023 (same page).
    pub const S3_GB_MONTH: f64 = 0.023;
    /// CloudWatch Logs ingestion, per GB: $0.50 (aws.amazon.com/cloudwatch/pricing/).
    pub const LOGS_GB: f64 = 0.50;
    /// Route 53 health check of a non-AWS endpoint, per month: $0.75; with HTTPS and string
    /// matching $2.75 (aws.amazon.com/route53/pricing/, as the issue gives them).
    pub const ROUTE53_BASIC: f64 = 0.75;
    /// See [`ROUTE53_BASIC`].
    pub const ROUTE53_HTTPS_STRING: f64 = 2.75;
    /// CloudWatch Synthetics, per canary run: $0.0012 (aws.amazon.com/cloudwatch/pricing/).
    pub const SYNTHETICS_RUN: f64 = 0.0012;
}

/// Minutes in a month of 30 days: probe runs per kind.
pub const RUNS_PER_MONTH: f64 = 43_200.0;
/// Hours in a month: digest runs.
pub const HOURS_PER_MONTH: f64 = 720.0;
/// The probe function's memory in the template (Globals), GB.
pub const PROBE_GB: f64 = 0.25;
/// Bytes of one stored rollup item (measured on the digest bench's items: JSON with latency and
/// keys), for the modeled baseline reads.
pub const ROLLUP_BYTES: f64 = 300.0;
/// Bytes the probe logs per invocation (three JSON lines of about 200 bytes).
pub const LOG_BYTES_PER_RUN: f64 = 600.0;

/// What the probe runs of one minute consumed on average (every location's run of the server
/// kind together).
#[derive(Debug, Clone, Default)]
pub struct PerRun {
    /// Read request units.
    pub rru: f64,
    /// Write request units (table and index).
    pub wru: f64,
    /// Wall seconds of the runs (Lambda duration, every location's summed).
    pub seconds: f64,
    /// Alerts published.
    pub publishes: f64,
    /// Units and requests per run by operation.
    pub by_operation: String,
    /// Mean bytes of one result as the history stores it (packed).
    pub result_bytes: f64,
    /// Request bytes of the writes (what a global table replicates), bytes.
    pub write_bytes: f64,
    /// Request and response bytes between the other locations and the home table (a home
    /// table written cross-Region), bytes.
    pub cross_bytes: f64,
}

/// One digest hour (measured), plus the modeled 7-day baseline reads.
#[derive(Debug, Clone, Default)]
pub struct DigestHour {
    /// Read request units.
    pub rru: f64,
    /// Write request units.
    pub wru: f64,
    /// Wall seconds.
    pub seconds: f64,
    /// Request bytes of its writes.
    pub write_bytes: f64,
}

/// `a` (measured at `na` targets) and `b` (at `nb`) on a line, read at `n`.
fn line(a: f64, b: f64, na: usize, nb: usize, n: usize) -> f64 {
    let slope = (b - a) / (nb as f64 - na as f64);
    a + slope * (n as f64 - na as f64)
}

impl PerRun {
    /// Every figure extrapolated linearly from `a` at `na` targets and `b` at `nb` to `n`
    /// (the packed result size is `b`'s).
    pub fn extrapolate(a: &PerRun, na: usize, b: &PerRun, nb: usize, n: usize) -> PerRun {
        let l = |f: fn(&PerRun) -> f64| line(f(a), f(b), na, nb, n).max(0.0);
        PerRun {
            rru: l(|r| r.rru),
            wru: l(|r| r.wru),
            seconds: l(|r| r.seconds),
            publishes: l(|r| r.publishes),
            by_operation: format!("extrapolated from {na} and {nb} targets"),
            result_bytes: b.result_bytes,
            write_bytes: l(|r| r.write_bytes),
            cross_bytes: l(|r| r.cross_bytes),
        }
    }
}

impl DigestHour {
    /// See [`PerRun::extrapolate`].
    pub fn extrapolate(a: &DigestHour, na: usize, b: &DigestHour, nb: usize, n: usize) -> Self {
        let l = |f: fn(&DigestHour) -> f64| line(f(a), f(b), na, nb, n).max(0.0);
        DigestHour {
            rru: l(|d| d.rru),
            wru: l(|d| d.wru),
            seconds: l(|d| d.seconds),
            write_bytes: l(|d| d.write_bytes),
        }
    }
}

/// The deployment the bill is for.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Probe locations (each runs its probe function every minute).
    pub locations: usize,
    /// Probe invocations a minute in each location (the one rule for both kinds, plus the
    /// shard workers of a fanned-out run).
    pub invocations_per_minute: f64,
    /// SQS requests a minute in each location (the shard tasks: one SendMessageBatch per 10,
    /// one receive and one delete per task, and the event source mapping's empty long polls).
    pub sqs_requests_per_minute: f64,
    /// The table replicated to every location's Region (a global table) instead of one home
    /// table the other locations write across Regions.
    pub global_table: bool,
}

impl Deployment {
    /// One location, one invocation a minute for both kinds, no fan-out.
    pub const SINGLE: Deployment = Deployment {
        locations: 1,
        invocations_per_minute: 1.0,
        sqs_requests_per_minute: 0.0,
        global_table: false,
    };

    /// `locations` locations, each fanning out N targets into `shards` workers.
    pub fn fanned_out(locations: usize, shards: u32, global_table: bool) -> Deployment {
        let tasks = f64::from(shards);
        Deployment {
            locations,
            // The scheduled invocation (dispatches the server kind, runs the proxy kind), and
            // the workers.
            invocations_per_minute: 1.0 + tasks,
            // SendMessageBatch per 10 tasks, a receive and a delete per task, and about 15
            // empty long polls a minute of the event source mapping's pollers.
            sqs_requests_per_minute: (tasks / 10.0).ceil() + 2.0 * tasks + 15.0,
            global_table,
        }
    }
}

/// A month's bill, by item, USD.
#[derive(Debug, Clone, Default)]
pub struct Cost {
    /// Probe runs' DynamoDB requests.
    pub ddb_requests: f64,
    /// Digest runs (DynamoDB and Lambda).
    pub digest: f64,
    /// Table storage.
    pub storage: f64,
    /// Table size, GB (one copy).
    pub table_gb: f64,
    /// Daily dump: scan and S3.
    pub dump: f64,
    /// Probe Lambda duration and requests.
    pub lambda: f64,
    /// Alert publishes.
    pub sns: f64,
    /// Shard task queue.
    pub sqs: f64,
    /// Log ingestion.
    pub logs: f64,
    /// Cross-Region data transfer.
    pub transfer: f64,
}

impl Cost {
    /// The month's total, USD.
    pub fn total(&self) -> f64 {
        self.ddb_requests
            + self.digest
            + self.storage
            + self.dump
            + self.lambda
            + self.sns
            + self.sqs
            + self.logs
            + self.transfer
    }

    /// One line of the items.
    pub fn breakdown(&self) -> String {
        format!(
            "DynamoDB requests {:.2}, digest {:.2}, storage {:.2} ({:.2} GB a copy), dump {:.3}, Lambda {:.2}, SNS {:.3}, SQS {:.3}, logs {:.3}, cross-Region transfer {:.2}",
            self.ddb_requests, self.digest, self.storage, self.table_gb, self.dump, self.lambda,
            self.sns, self.sqs, self.logs, self.transfer
        )
    }
}

/// The monthly bill of `n` targets probed every minute: `r` per minute, `d` per hour, deployed
/// as `dep` says.
///
/// A global table bills every write (probe and digest) in each replica Region
/// ([`price::RWRU`]), stores a copy in each, and sends each write's bytes to every other
/// replica ([`price::CROSS_REGION_GB`]); reads stay local. One home table bills each write
/// once and sends the other locations' requests and answers across Regions.
pub fn monthly(n: usize, r: &PerRun, d: &DigestHour, dep: &Deployment) -> Cost {
    let nf = n as f64;
    let locations = dep.locations as f64;
    let (copies, write_price) = if dep.global_table {
        (locations, price::RWRU * locations)
    } else {
        (1.0, price::WRU)
    };
    let ddb_requests = (r.rru * price::RRU + r.wru * write_price) * RUNS_PER_MONTH;
    let digest =
        (d.rru * price::RRU + d.wru * write_price + d.seconds * PROBE_GB * price::GB_SECOND)
            * HOURS_PER_MONTH;
    // Steady-state table: the packed history of `DEFAULT_HISTORY_TTL_DAYS` plus the rollups,
    // hourly ones kept `HOUR_ROLLUP_TTL_DAYS` and daily ones `ROLLUP_TTL_DAYS`.
    let history_days = f64::from(lookout_app::config::DEFAULT_HISTORY_TTL_DAYS);
    let history_gb = nf * r.result_bytes * 1440.0 * history_days / 1e9;
    let rollups_kept = 24.0 * f64::from(lookout_core::digest::rollup::HOUR_ROLLUP_TTL_DAYS)
        + f64::from(lookout_core::digest::rollup::ROLLUP_TTL_DAYS);
    let rollup_gb = nf * ROLLUP_BYTES * rollups_kept / 1e9;
    let table_gb = history_gb + rollup_gb;
    let storage = table_gb * price::DDB_GB_MONTH * copies;
    // Daily dump (from one Region): a full scan (0.5 unit per 4 KB), parts of 8 MiB to S3 at
    // about a tenth of the size gzip'd, 7 dumps kept.
    let dump_scan = table_gb * 1e9 / 4096.0 * 0.5 * price::RRU * 30.0;
    let dump_s3 = ((table_gb * 0.1 * 1e9 / 8_388_608.0).ceil() + 2.0) * price::S3_PUT * 30.0
        + table_gb * 0.1 * 7.0 * price::S3_GB_MONTH;
    let invocations = dep.invocations_per_minute * locations * RUNS_PER_MONTH;
    let lambda = r.seconds * PROBE_GB * price::GB_SECOND * RUNS_PER_MONTH
        + invocations * price::LAMBDA_REQUEST;
    let sns = r.publishes * RUNS_PER_MONTH * price::SNS_PUBLISH;
    let sqs = dep.sqs_requests_per_minute * locations * RUNS_PER_MONTH * price::SQS_REQUEST;
    let logs = invocations * LOG_BYTES_PER_RUN / 1e9 * price::LOGS_GB;
    let transfer_bytes = if dep.global_table {
        // Every write to each of the other replicas.
        (r.write_bytes * RUNS_PER_MONTH + d.write_bytes * HOURS_PER_MONTH) * (locations - 1.0)
    } else {
        r.cross_bytes * RUNS_PER_MONTH
    };
    Cost {
        ddb_requests,
        digest,
        storage,
        table_gb,
        dump: dump_scan + dump_s3,
        lambda,
        sns,
        sqs,
        logs,
        transfer: transfer_bytes / 1e9 * price::CROSS_REGION_GB,
    }
}
