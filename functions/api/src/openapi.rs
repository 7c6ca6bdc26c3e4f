//! `GET /v1/openapi.json`: the OpenAPI 3.0 document of every route, built from the route table
//! ([`crate::ROUTES`]) so it cannot drift from the router, with the query parameters, bodies,
//! answers and error statuses of each route.

use serde_json::{json, Map, Value};

use crate::{Access, ROUTES};

/// Query parameters of each route, by route name: (name, schema).
fn query_params(name: &str) -> Vec<(&'static str, Value)> {
    let limit = |max: u64| json!({"type": "integer", "minimum": 1, "maximum": max});
    let time = json!({"type": "string", "format": "date-time"});
    let kind = json!({"type": "string", "enum": ["server", "proxy"]});
    let boolean = json!({"type": "string", "enum": ["true", "false"]});
    match name {
        "page" => vec![(
            "lang",
            json!({"type": "string", "enum": ["en", "ar", "fa"]}),
        )],
        "list_targets" => vec![
            ("kind", kind),
            ("group", json!({"type": "string"})),
            (
                "status",
                json!({"type": "string", "enum": ["unknown", "healthy", "degraded", "down", "blocked"]}),
            ),
            ("tag", json!({"type": "string"})),
            ("limit", limit(500)),
            ("cursor", json!({"type": "string"})),
        ],
        "create_targets" => vec![("dry_run", boolean)],
        "apply_targets" => vec![("prune", boolean.clone()), ("dry_run", boolean)],
        "results" | "target_results" => {
            let mut p = vec![
                ("since", time.clone()),
                ("until", time),
                (
                    "status",
                    json!({"type": "string", "enum": ["up", "slow", "degraded", "failed", "blocked"]}),
                ),
                ("limit", limit(1000)),
                ("cursor", json!({"type": "string"})),
            ];
            if name == "results" {
                p.push(("kind", kind));
            }
            p
        }
        "runs" => vec![("kind", kind), ("limit", limit(200))],
        "digests" => vec![
            (
                "target",
                json!({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}),
            ),
            ("before", json!({"type": "string", "format": "date-time"})),
            ("limit", limit(200)),
        ],
        "latest_digest" => vec![(
            "target",
            json!({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}),
        )],
        "alerts" => vec![
            ("since", time.clone()),
            ("until", time),
            (
                "severity",
                json!({"type": "string", "enum": ["info", "warning", "critical"]}),
            ),
            ("kind", json!({"type": "string"})),
        ],
        "proxies_active" => vec![("group", json!({"type": "string"}))],
        _ => Vec::new(),
    }
}

fn summary(name: &str) -> &'static str {
    match name {
        "page" => "The status page (HTML)",
        "health" => "This API and its dependencies",
        "status" => "Every target with its state, latest result and failover choice",
        "summary" => {
            "Counts by status, last runs, active per group, proxy cost, the latest global digest"
        }
        "metrics" => "Prometheus text metrics",
        "openapi" => "This document",
        "list_targets" => "Target definitions (redacted) with status, filtered and paged",
        "create_targets" => {
            "Create targets (one, a list, or {\"targets\": [...]}); dry_run=true validates only (200)"
        }
        "apply_targets" => {
            "Apply a whole target file, JSON or YAML (configuration as code); dry_run=true says what would change"
        }
        "get_target" => "One target: definition, state, latest result",
        "patch_target" => "Change a target (JSON merge patch with the version read)",
        "delete_target" => "Delete a target",
        "target_action" => "Operator override: mark-healthy, mark-down, reset-stats",
        "results" => "Check results from the history",
        "target_results" => "Check results of one target",
        "runs" => "Probe run records, newest first",
        "target_uptime" => {
            "Uptime over 24 hours, 7, 30 and 365 days, from the hourly and daily rollups"
        }
        "digests" => "Hourly digests of a target (target=) or global ones, newest first",
        "latest_digest" => "The newest digest of a target (target=) or the newest global one",
        "alerts" => "Alerts raised in a time window",
        "group_active" => "Active target and fallbacks of a group or pool",
        "system" => "CPU, load, memory, RSS, uptime and /tmp of this function instance",
        "checks" => "Check targets now and return the results",
        "proxies_active" => "The proxy to use now and the fallbacks, with credentials",
        "proxy_usage" => "Report real traffic through a proxy",
        "dumps" => "Complete dumps newest first, incomplete folders, and corrupt manifests",
        "dump_stats" => "Count, bytes, oldest and newest dump; incomplete and corrupt ones",
        "verify_dump" => {
            "Check a dump's parts (bytes, SHA-256, items) against its manifest without restoring"
        }
        "get_dump" => "A dump's manifest",
        "delete_dump" => "Delete a dump",
        "create_dump" => {
            "Dump the table now (201 with the manifest, or 202 when handed to the export function)"
        }
        "restore_dump" => "Restore a dump into a table (checked against its manifest first)",
        "leases" => "Each kind's probe run lease: holder and until (epoch ms and RFC 3339)",
        "release_lease" => {
            "Release a kind's run lease whoever holds it (204), so the next run starts"
        }
        _ => "",
    }
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, pattern, access, name) in ROUTES {
        let mut parameters: Vec<Value> = pattern
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| {
                let schema = if p == "action" {
                    json!({"type": "string", "enum": ["mark-healthy", "mark-down", "reset-stats"]})
                } else if p == "kind" {
                    json!({"type": "string", "enum": ["server", "proxy"]})
                } else {
                    json!({"type": "string", "minLength": 1})
                };
                json!({"name": p, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        for (q, schema) in query_params(name) {
            let required = *name == "proxies_active" && q == "group";
            parameters
                .push(json!({"name": q, "in": "query", "required": required, "schema": schema}));
        }
        let ok_content = match *name {
            "page" => json!({"text/html": {"schema": {"type": "string"}}}),
            "metrics" => json!({"text/plain": {"schema": {"type": "string"}}}),
            _ => json!({"application/json": {"schema": {"type": "object"}}}),
        };
        let ok_status = match *name {
            "create_targets" | "create_dump" => "201",
            "release_lease" => "204",
            _ => "200",
        };
        let mut responses = Map::new();
        let ok = if ok_status == "204" {
            json!({"description": "Released, or nothing was held"})
        } else {
            json!({"description": "OK", "content": ok_content.clone()})
        };
        responses.insert(ok_status.into(), ok);
        if *name == "create_targets" {
            responses.insert(
                "200".into(),
                json!({"description": "dry_run=true: what would be created", "content": ok_content}),
            );
        }
        if !matches!(*name, "openapi" | "system") {
            responses.insert(
                "503".into(),
                error_response(
                    "The table's DynamoDB endpoint does not answer (unavailable; Retry-After)",
                ),
            );
        }
        responses.insert(
            "400".into(),
            error_response("Bad request: bad JSON, query or body"),
        );
        responses.insert("404".into(), error_response("No such route or resource"));
        responses.insert("405".into(), error_response("Method not allowed"));
        responses.insert("413".into(), error_response("Body over 1 MiB"));
        responses.insert(
            "422".into(),
            error_response("Invalid definition or request, naming the field"),
        );
        responses.insert(
            "409".into(),
            error_response("Conflict: exists, or a stale version"),
        );
        responses.insert("500".into(), error_response("Storage failure"));
        if matches!(*name, "create_dump" | "restore_dump") {
            responses.insert(
                "202".into(),
                json!({"description": "Handed to the export function (LOOKOUT_EXPORT_FUNCTION)", "content": {"application/json": {"schema": {"type": "object"}}}}),
            );
        }
        if name.contains("dump") {
            responses.insert(
                "503".into(),
                error_response(
                    "Dumps not configured (no LOOKOUT_BUCKET), a restore left items unwritten, or the table does not answer",
                ),
            );
        }
        if *name == "health" {
            responses.insert("503".into(), json!({"description": "A dependency is unreachable", "content": {"application/json": {"schema": {"type": "object"}}}}));
        }
        if *access != Access::Public {
            responses.insert("401".into(), error_response("Missing or wrong token"));
        } else {
            responses.insert(
                "401".into(),
                error_response("Token needed when LOOKOUT_PUBLIC_STATUS=false"),
            );
        }
        if *access == Access::Admin {
            responses.insert(
                "403".into(),
                error_response("The read token on an admin route"),
            );
        }
        let mut op = json!({
            "operationId": name,
            "summary": summary(name),
            "parameters": parameters,
            "responses": responses,
        });
        op["security"] = match access {
            Access::Public => json!([{}, {"bearer": []}]),
            _ => json!([{"bearer": []}]),
        };
        if matches!(*method, "POST" | "PUT" | "PATCH") {
            let required = !matches!(
                *name,
                "target_action" | "checks" | "create_dump" | "restore_dump" | "verify_dump"
            );
            let schema = match *name {
                "restore_dump" => json!({
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "table": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,255}$"},
                        "mode": {"type": "string", "enum": ["upsert", "empty-only"]}
                    }
                }),
                _ => json!({}),
            };
            let mut content = json!({"application/json": {"schema": schema}});
            if *name == "apply_targets" {
                content["application/yaml"] = json!({"schema": {"type": "string"}});
            }
            op["requestBody"] = json!({"required": required, "content": content});
        }
        paths
            .entry(pattern.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(method.to_ascii_lowercase(), op));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Lookout",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Health monitoring of HTTP servers and proxy pools. Errors are {\"error\":{\"code\",\"message\"}}."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": "string", "description": "JSON path of the field to blame, e.g. targets[2].timeout_ms"}
                        }
                    }}
                }
            }
        }
    })
}
