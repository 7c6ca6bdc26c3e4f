use super::*;
use lookout_app::memory::MemoryStore;
use lookout_core::domain::incident::{
    AffectedTarget, IncidentSource, IncidentStatus, IncidentUpdate,
};
use lookout_core::domain::Status;

use crate::target_page::labels::{AR, EN};

const NOW: i64 = 1_795_269_600_000;
const HOSTILE: &str = "<script>alert(1)</script>\" onmouseover=\"x &amp;";

fn update(at: i64, status: IncidentStatus, body: &str) -> IncidentUpdate {
    IncidentUpdate {
        at,
        status,
        body: body.into(),
        changes: Vec::new(),
        alert_key: None,
    }
}

fn operator(id: &str, title: &str, opened_at: i64) -> Incident {
    Incident {
        id: id.into(),
        kind: IncidentKind::Incident,
        source: IncidentSource::Operator,
        title: title.into(),
        status: IncidentStatus::Identified,
        targets: Vec::new(),
        more_targets: 0,
        dropped_updates: 0,
        opened_at,
        resolved_at: None,
        starts_at: None,
        ends_at: None,
        updates: vec![
            update(opened_at, IncidentStatus::Investigating, "Looking"),
            update(opened_at + 60_000, IncidentStatus::Identified, HOSTILE),
        ],
        postmortem: Some("Root cause: <b>disk</b>".into()),
        version: 1,
    }
}

fn auto(id: &str, opened_at: i64) -> Incident {
    let down = AffectedTarget {
        id: "api".into(),
        name: "old name".into(),
        status: Status::Down,
    };
    Incident {
        id: id.into(),
        kind: IncidentKind::Incident,
        source: IncidentSource::Auto,
        title: String::new(),
        status: IncidentStatus::Investigating,
        targets: vec![down.clone()],
        more_targets: 0,
        dropped_updates: 0,
        opened_at,
        resolved_at: None,
        starts_at: None,
        ends_at: None,
        updates: vec![IncidentUpdate {
            changes: vec![down],
            ..update(opened_at, IncidentStatus::Investigating, "")
        }],
        postmortem: None,
        version: 1,
    }
}

async fn render(store: &MemoryStore, l: &'static Labels, lang: Option<&str>) -> String {
    let cache = crate::routes::DefsCache::default();
    let incidents = crate::routes::IncidentsCache::default();
    feed(store, &cache, &incidents, l, lang, NOW).await.unwrap()
}

#[tokio::test]
async fn the_feed_is_atom_with_one_entry_per_incident_newest_first_and_text_stays_text() {
    let store = MemoryStore::default();
    store
        .put_incident(&operator("inc-1", HOSTILE, NOW - 3 * DAY_MS))
        .await
        .unwrap();
    store
        .put_incident(&auto("auto-api-1", NOW - DAY_MS))
        .await
        .unwrap();
    // Older than the feed's 90 days and resolved then: left out.
    let mut old = operator("inc-old", "old", NOW - 100 * DAY_MS);
    old.status = IncidentStatus::Resolved;
    old.resolved_at = Some(NOW - 99 * DAY_MS);
    store.put_incident(&old).await.unwrap();
    let xml = render(&store, &EN, None).await;
    assert!(!xml.contains("<script>"), "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    let child = |n: roxmltree::Node<'_, '_>, name: &str| {
        n.children()
            .find(|c| c.has_tag_name(name))
            .and_then(|c| c.text())
            .unwrap_or("")
            .to_string()
    };
    let entries: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("entry"))
        .collect();
    let ids: Vec<String> = entries.iter().map(|e| child(*e, "id")).collect();
    assert_eq!(
        ids,
        [
            "urn:lookout:incident:auto-api-1",
            "urn:lookout:incident:inc-1"
        ]
    );
    // The auto incident is titled from its target and what it went to.
    assert_eq!(child(entries[0], "title"), "Down: old name");
    // The operator's title and update as written, as text.
    assert_eq!(child(entries[1], "title"), HOSTILE);
    let content = child(entries[1], "content");
    assert!(
        content.contains(&format!("Identified: {HOSTILE}")),
        "{content}"
    );
    assert!(
        content.contains("Postmortem:\nRoot cause: <b>disk</b>"),
        "{content}"
    );
    // Newest update first in the timeline, and `updated` is it.
    assert!(content.find("Identified").unwrap() < content.find("Investigating").unwrap());
    assert_eq!(
        child(entries[1], "updated"),
        rfc3339(NOW - 3 * DAY_MS + 60_000)
    );
    assert_eq!(child(root, "updated"), rfc3339(NOW - DAY_MS));
    for e in &entries {
        assert_eq!(
            e.children()
                .find(|c| c.has_tag_name("content"))
                .unwrap()
                .attribute("type"),
            Some("text")
        );
    }
}

#[tokio::test]
async fn the_words_of_auto_incidents_follow_the_language() {
    let store = MemoryStore::default();
    store
        .put_incident(&auto("auto-api-1", NOW - DAY_MS))
        .await
        .unwrap();
    let xml = render(&store, &AR, Some("ar")).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(
        root.attribute(("http://www.w3.org/XML/1998/namespace", "lang")),
        Some("ar")
    );
    let text: String = root
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("متوقف: old name"), "{text}");
    assert!(text.contains("قيد التحقيق"), "{text}");
    assert!(!text.contains("Down"), "{text}");
    assert!(xml.contains("href=\"/feed.atom?lang=ar\""), "{xml}");
}

#[tokio::test]
async fn an_empty_feed_is_still_a_valid_feed() {
    let xml = render(&MemoryStore::default(), &EN, None).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "feed");
    assert!(!doc.descendants().any(|n| n.has_tag_name("entry")));
}
