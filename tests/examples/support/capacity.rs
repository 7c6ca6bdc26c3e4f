//! The DynamoDB capacity counter the benchmarks share (bill, fanout_bench): an SDK interceptor
//! that asks every read and write for `ReturnConsumedCapacity=TOTAL` and sums the
//! `ConsumedCapacity` DynamoDB Local returns, as read units (GetItem, Query, Scan, BatchGetItem,
//! TransactGetItems) or write units (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
//! TransactWriteItems), with the request and response body bytes (for the cross-region data
//! transfer estimate of the bill).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde_json::{json, Value};

/// Capacity units consumed and bytes moved, summed from the requests and responses.
#[derive(Debug, Default, Clone)]
pub struct Units {
    /// Read units (read request units on an on-demand table).
    pub read: f64,
    /// Write units (write request units), table and index writes together.
    pub write: f64,
    /// Requests counted.
    pub requests: u64,
    /// Request body bytes sent (JSON as the SDK sends it).
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Request body bytes of the writes alone (what a global table would replicate).
    pub write_bytes: u64,
    /// Units and requests by operation.
    pub by_operation: BTreeMap<String, (f64, u64)>,
}

impl Units {
    /// `self` minus `earlier` (both totals of one counter).
    pub fn since(&self, earlier: &Units) -> Units {
        let mut by_operation = self.by_operation.clone();
        for (op, (units, requests)) in &earlier.by_operation {
            if let Some(e) = by_operation.get_mut(op) {
                e.0 -= units;
                e.1 -= requests;
            }
        }
        by_operation.retain(|_, (_, r)| *r > 0);
        Units {
            read: self.read - earlier.read,
            write: self.write - earlier.write,
            requests: self.requests - earlier.requests,
            bytes_sent: self.bytes_sent - earlier.bytes_sent,
            bytes_received: self.bytes_received - earlier.bytes_received,
            write_bytes: self.write_bytes - earlier.write_bytes,
            by_operation,
        }
    }

    /// Per operation, divided by `runs`: `Op 1.0 units in 2.0 requests; ...`.
    pub fn per_run(&self, runs: f64) -> String {
        self.by_operation
            .iter()
            .map(|(op, (units, requests))| {
                format!(
                    "{op} {:.1} units in {:.1} requests",
                    units / runs,
                    *requests as f64 / runs
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The interceptor; clones share one total.
#[derive(Debug, Clone, Default)]
pub struct Capacity(Arc<Mutex<Units>>);

impl Capacity {
    /// The totals so far, reset to zero.
    pub fn take(&self) -> Units {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// The totals so far, kept.
    pub fn peek(&self) -> Units {
        self.0.lock().unwrap().clone()
    }

    /// A DynamoDB client over `aws` with this counter on every request.
    pub fn client(&self, aws: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(aws)
            .interceptor(self.clone())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

const READS: [&str; 5] = [
    "GetItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "TransactGetItems",
];
const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

fn operation(headers: &aws_sdk_dynamodb::config::http::HttpRequest) -> Option<String> {
    headers
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.split('.').nth(1))
        .map(str::to_string)
}

/// The DynamoDB operation of the request being executed (`PutItem`, `Query` ...) and its body
/// bytes.
#[derive(Debug, Clone)]
struct Operation(String, u64);

impl aws_smithy_types::config_bag::Storable for Operation {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl Intercept for Capacity {
    fn name(&self) -> &'static str {
        "ConsumedCapacityCounter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request_mut();
        let Some(op) = operation(req) else {
            return Ok(());
        };
        let sent = req.body().bytes().map_or(0, |b| b.len() as u64);
        cfg.interceptor_state()
            .store_put(Operation(op.clone(), sent));
        if !READS.contains(&op.as_str()) && !WRITES.contains(&op.as_str()) {
            return Ok(());
        }
        let Some(bytes) = req.body().bytes() else {
            return Ok(());
        };
        let mut body: Value = serde_json::from_slice(bytes)?;
        body["ReturnConsumedCapacity"] = json!("TOTAL");
        let new = serde_json::to_vec(&body)?;
        req.headers_mut()
            .insert("content-length", new.len().to_string());
        *req.body_mut() = aws_smithy_types::body::SdkBody::from(new);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The request is gone by now: its operation was kept in the config bag.
        let (Some(Operation(op, sent)), Some(resp)) = (cfg.load::<Operation>(), context.response())
        else {
            return Ok(());
        };
        let Some(bytes) = resp.body().bytes() else {
            return Ok(());
        };
        let body: Value = serde_json::from_slice(bytes).unwrap_or_default();
        let units: f64 = match &body["ConsumedCapacity"] {
            Value::Array(a) => a.iter().filter_map(|c| c["CapacityUnits"].as_f64()).sum(),
            c => c["CapacityUnits"].as_f64().unwrap_or(0.0),
        };
        let mut u = self.0.lock().unwrap();
        u.requests += 1;
        u.bytes_sent += sent;
        u.bytes_received += bytes.len() as u64;
        let entry = u.by_operation.entry(op.clone()).or_default();
        entry.0 += units;
        entry.1 += 1;
        if WRITES.contains(&op.as_str()) {
            u.write += units;
            u.write_bytes += sent;
        } else if READS.contains(&op.as_str()) {
            u.read += units;
        }
        Ok(())
    }
}
