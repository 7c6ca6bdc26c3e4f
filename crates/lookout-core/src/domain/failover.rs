//! Failover order: which target of a group or pool to use now, and the fallbacks after it.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::state::{Status, TargetState};
use super::target::{Target, TargetKind};

/// The failover answer for one group: the target to use now and the ordered fallbacks.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct GroupChoice {
    /// The group or pool name.
    pub group: String,
    /// `server` or `proxy`.
    pub kind: TargetKind,
    /// The id to use now; `None` when no target of the group is eligible (group critical).
    pub active: Option<String>,
    /// Eligible ids in failover order, `active` first.
    pub order: Vec<String>,
    /// Targets in the group, eligible or not.
    pub members: usize,
}

fn status_of<'a>(states: &'a HashMap<String, TargetState>, id: &str) -> Option<&'a TargetState> {
    states.get(id)
}

/// Orders the eligible (`healthy` or `degraded`) targets of one group for failover.
///
/// Proxies: lowest [`Target::priority`] first, then lowest `cost_per_gb`, then fewest failures.
/// Servers: `healthy` before `degraded`, then priority, then lowest EWMA latency. Ties keep id
/// order so the answer is deterministic.
pub fn failover_order<'a>(
    members: &[&'a Target],
    states: &HashMap<String, TargetState>,
) -> Vec<&'a Target> {
    let mut eligible: Vec<(&Target, &TargetState)> = members
        .iter()
        .filter(|t| t.enabled)
        .filter_map(|t| {
            status_of(states, &t.id)
                .filter(|s| s.status.eligible())
                .map(|s| (*t, s))
        })
        .collect();
    eligible.sort_by(|(a, sa), (b, sb)| {
        let by_kind = match a.kind() {
            TargetKind::Proxy => a
                .priority()
                .cmp(&b.priority())
                .then(
                    a.cost_per_gb()
                        .partial_cmp(&b.cost_per_gb())
                        .unwrap_or(Ordering::Equal),
                )
                .then(sa.failures.cmp(&sb.failures)),
            TargetKind::Server => (sa.status != Status::Healthy)
                .cmp(&(sb.status != Status::Healthy))
                .then(a.priority().cmp(&b.priority()))
                .then(
                    sa.ewma_latency_ms
                        .unwrap_or(f64::MAX)
                        .partial_cmp(&sb.ewma_latency_ms.unwrap_or(f64::MAX))
                        .unwrap_or(Ordering::Equal),
                ),
        };
        by_kind.then(a.id.cmp(&b.id))
    });
    eligible.into_iter().map(|(t, _)| t).collect()
}

/// The failover choice of every group, sorted by kind then group name.
pub fn choose_all(targets: &[Target], states: &HashMap<String, TargetState>) -> Vec<GroupChoice> {
    let mut groups: BTreeMap<(TargetKind, &str), Vec<&Target>> = BTreeMap::new();
    for t in targets {
        groups
            .entry((t.kind(), t.group.as_str()))
            .or_default()
            .push(t);
    }
    groups
        .into_iter()
        .map(|((kind, group), members)| {
            let order: Vec<String> = failover_order(&members, states)
                .iter()
                .map(|t| t.id.clone())
                .collect();
            GroupChoice {
                group: group.to_string(),
                kind,
                active: order.first().cloned(),
                order,
                members: members.len(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn proxy(id: &str, ty: &str, cost: f64) -> Target {
        serde_json::from_value(
            json!({"id":id,"group":"pool","kind":"proxy","proxy_url":"http://h:1",
            "proxy_type":ty,"cost_per_gb":cost,"test_urls":["http://x/"]}),
        )
        .unwrap()
    }

    fn state(id: &str, status: Status, ewma: f64) -> (String, TargetState) {
        let mut s = TargetState::new(id);
        s.status = status;
        s.ewma_latency_ms = Some(ewma);
        (id.to_string(), s)
    }

    #[test]
    fn the_cheapest_healthy_proxy_is_active_and_the_rest_follow_by_cost() {
        let ts = vec![
            proxy("res", "residential", 8.0),
            proxy("vps", "vps", 0.0),
            proxy("dc", "datacenter", 1.0),
        ];
        let states: HashMap<_, _> = [
            state("res", Status::Healthy, 1.0),
            state("vps", Status::Down, 1.0),
            state("dc", Status::Degraded, 1.0),
        ]
        .into_iter()
        .collect();
        let c = choose_all(&ts, &states);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].active.as_deref(), Some("dc"));
        assert_eq!(c[0].order, vec!["dc", "res"]);
    }

    #[test]
    fn servers_prefer_healthy_then_priority_then_latency_and_a_dead_group_has_no_active() {
        let mk = |id: &str, prio: u32| -> Target {
            serde_json::from_value(
                json!({"id":id,"group":"api","kind":"server","url":"http://h/","priority":prio}),
            )
            .unwrap()
        };
        let ts = vec![mk("a", 1), mk("b", 2), mk("c", 2)];
        let states: HashMap<_, _> = [
            state("a", Status::Degraded, 5.0),
            state("b", Status::Healthy, 50.0),
            state("c", Status::Healthy, 20.0),
        ]
        .into_iter()
        .collect();
        assert_eq!(choose_all(&ts, &states)[0].order, vec!["c", "b", "a"]);
        let dead: HashMap<_, _> = [state("a", Status::Down, 1.0)].into_iter().collect();
        assert_eq!(choose_all(&ts, &dead)[0].active, None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn status() -> impl Strategy<Value = Status> {
            prop_oneof![
                Just(Status::Unknown),
                Just(Status::Healthy),
                Just(Status::Degraded),
                Just(Status::Down),
                Just(Status::Blocked),
            ]
        }

        proptest! {
            /// The order holds every eligible enabled member exactly once and nothing else; the
            /// active proxy is never costlier in priority than any fallback; the answer does not
            /// depend on the order the members are listed in.
            #[test]
            fn the_proxy_order_is_complete_cheapest_first_and_stable(
                pool in proptest::collection::vec(
                    (0u8..3, 0.0f64..20.0, status(), 0u64..50, any::<bool>()), 1..12),
            ) {
                let types = ["vps", "datacenter", "residential"];
                let mut targets = Vec::new();
                let mut states = HashMap::new();
                for (i, (ty, cost, st, failures, enabled)) in pool.iter().enumerate() {
                    let id = format!("p{i:02}");
                    let mut t = proxy(&id, types[*ty as usize], *cost);
                    t.enabled = *enabled;
                    let mut s = TargetState::new(&id);
                    s.status = *st;
                    s.failures = *failures;
                    states.insert(id, s);
                    targets.push(t);
                }
                let refs: Vec<&Target> = targets.iter().collect();
                let order = failover_order(&refs, &states);
                let want: Vec<&str> = targets
                    .iter()
                    .filter(|t| t.enabled && states[&t.id].status.eligible())
                    .map(|t| t.id.as_str())
                    .collect();
                let mut got: Vec<&str> = order.iter().map(|t| t.id.as_str()).collect();
                got.sort();
                prop_assert_eq!(got, want);
                for pair in order.windows(2) {
                    prop_assert!(pair[0].priority() <= pair[1].priority());
                }
                let reversed: Vec<&Target> = targets.iter().rev().collect();
                let again: Vec<&str> = failover_order(&reversed, &states).iter().map(|t| t.id.as_str()).collect();
                let first: Vec<&str> = order.iter().map(|t| t.id.as_str()).collect();
                prop_assert_eq!(first, again);
            }
        }
    }
}
