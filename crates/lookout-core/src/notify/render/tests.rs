//! Each provider's request checked field by field against its documentation (cited in the
//! provider's file).

use serde_json::Value;

use super::*;
use crate::domain::{AlertKind, Change, Severity, Status, TargetKind};
use crate::notify::channel::Language;

const HOSTILE: &str = "<b>&\"x\"</b> @everyone <!channel>";
const AT: i64 = 1_700_000_000_000;

fn endpoints() -> Endpoints {
    Endpoints {
        telegram: "http://127.0.0.1:9001".into(),
        pagerduty: "http://127.0.0.1:9002/".into(),
        opsgenie: "http://127.0.0.1:9003".into(),
    }
}

fn alert(kind: AlertKind, old: Status, new: Status, severity: Severity) -> Alert {
    Alert {
        key: format!("web#{}#{AT}", new.as_str()),
        kind,
        severity,
        target_id: "web".into(),
        target_name: HOSTILE.into(),
        target_kind: TargetKind::Server,
        group: "front".into(),
        old_status: old,
        new_status: new,
        at: AT,
        subject: "[CRITICAL] server web is down".into(),
        text: "server web went from healthy to down: connection refused & <timeout>.".into(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: vec!["prod".into()],
        locations: None,
        slo: None,
    }
}

fn down() -> Alert {
    alert(
        AlertKind::StatusChange,
        Status::Healthy,
        Status::Down,
        Severity::Critical,
    )
}

fn recovery() -> Alert {
    alert(
        AlertKind::Recovery,
        Status::Down,
        Status::Healthy,
        Severity::Info,
    )
}

fn channel(config: ChannelConfig, language: Language) -> Channel {
    Channel {
        id: "ops".into(),
        name: "Ops".into(),
        config,
        enabled: true,
        language,
        route: Default::default(),
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

fn slack() -> ChannelConfig {
    ChannelConfig::Slack {
        webhook_url: "https://hooks.slack.com/services/T0/B0/SECRETSLACK".into(),
    }
}
fn telegram() -> ChannelConfig {
    ChannelConfig::Telegram {
        bot_token: "123456:SECRETTOKEN".into(),
        chat_id: "-100123".into(),
    }
}
fn discord(url: &str) -> ChannelConfig {
    ChannelConfig::Discord {
        webhook_url: url.into(),
    }
}
fn teams() -> ChannelConfig {
    ChannelConfig::Teams {
        webhook_url: "https://prod.westeurope.logic.azure.com/workflows/x?sig=SECRETSIG".into(),
    }
}
fn pagerduty() -> ChannelConfig {
    ChannelConfig::Pagerduty {
        routing_key: "R0UTINGKEYR0UTINGKEYR0UTINGKEY32".into(),
    }
}
fn opsgenie() -> ChannelConfig {
    ChannelConfig::Opsgenie {
        api_key: "eb243592-faa2-4ba2-a551q-1afdf565c889".into(),
    }
}

/// The requests of a rendered message.
fn http(r: Rendered) -> Vec<Outbound> {
    match r {
        Rendered::Http(v) => v,
        other => panic!("expected HTTP requests, got {other:?}"),
    }
}

fn one(c: ChannelConfig, lang: Language, a: &Alert) -> (Outbound, Value) {
    let mut v = http(render(&channel(c, lang), a, &endpoints()));
    assert_eq!(v.len(), 1);
    let o = v.remove(0);
    let body = serde_json::from_slice(&o.body).unwrap();
    (o, body)
}

fn body(o: &Outbound) -> Value {
    serde_json::from_slice(&o.body).unwrap()
}

#[test]
fn slack_sends_block_kit_in_a_coloured_attachment_with_mrkdwn_escaped() {
    let (o, b) = one(slack(), Language::En, &down());
    assert_eq!(o.url, "https://hooks.slack.com/services/T0/B0/SECRETSLACK");
    assert!(o.headers.is_empty() && o.sign_with.is_none());
    let escaped = "&lt;b&gt;&amp;\"x\"&lt;/b&gt; @everyone &lt;!channel&gt;";
    assert_eq!(b["text"], format!("{escaped} is down"));
    let att = &b["attachments"][0];
    assert_eq!(att["color"], "#D00000");
    let blocks = att["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], format!("{HOSTILE} is down"));
    assert_eq!(blocks[1]["type"], "section");
    let fields = blocks[1]["fields"].as_array().unwrap();
    assert!(fields.len() <= 10);
    assert_eq!(fields[0]["type"], "mrkdwn");
    assert_eq!(fields[0]["text"], format!("*Target*\n{escaped} (web)"));
    assert!(fields
        .iter()
        .any(|f| f["text"] == "*Status*\nhealthy → down"));
    assert_eq!(blocks[2]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[2]["text"]["text"],
        "server web went from healthy to down: connection refused &amp; &lt;timeout&gt;."
    );
    assert_eq!(blocks[3]["type"], "context");
    // No unescaped markup anywhere in mrkdwn text.
    for f in fields {
        let t = f["text"].as_str().unwrap();
        assert!(!t.contains('<') && !t.contains('>'), "{t}");
    }
    let (_, b) = one(slack(), Language::En, &recovery());
    assert_eq!(b["attachments"][0]["color"], "#2EB67D");
}

#[test]
fn telegram_sends_html_with_only_supported_tags_and_everything_escaped() {
    let (o, b) = one(telegram(), Language::En, &down());
    assert_eq!(
        o.url,
        "http://127.0.0.1:9001/bot123456:SECRETTOKEN/sendMessage"
    );
    assert_eq!(b["chat_id"], -100123);
    assert_eq!(b["parse_mode"], "HTML");
    assert_eq!(b["disable_web_page_preview"], true);
    assert_eq!(b.as_object().unwrap().len(), 4);
    let text = b["text"].as_str().unwrap();
    assert!(text.starts_with(
        "<b>&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt; @everyone &lt;!channel&gt; is down</b>\n"
    ));
    assert!(text.contains("<b>Status:</b> healthy → down"));
    assert!(text.ends_with("connection refused &amp; &lt;timeout&gt;."));
    let without_b = text.replace("<b>", "").replace("</b>", "");
    assert!(!without_b.contains('<') && !without_b.contains('>'));
    let (_, b) = one(
        ChannelConfig::Telegram {
            bot_token: "1:x".into(),
            chat_id: "@lookout_ops".into(),
        },
        Language::En,
        &down(),
    );
    assert_eq!(b["chat_id"], "@lookout_ops");
}

/// Every `&` starts one of the four entities Telegram supports.
fn entities_whole(text: &str) -> bool {
    text.match_indices('&').all(|(i, _)| {
        ["&amp;", "&lt;", "&gt;", "&quot;"]
            .iter()
            .any(|e| text[i..].starts_with(e))
    })
}

#[test]
fn telegram_cuts_long_text_at_4096_with_an_ellipsis_never_inside_an_entity() {
    for filler in ["<&\"", "x", "ض", "😀&"] {
        let mut a = down();
        a.text = filler.repeat(5000);
        let (_, b) = one(telegram(), Language::Fa, &a);
        let text = b["text"].as_str().unwrap();
        assert!(text.encode_utf16().count() <= 4096, "{filler}");
        assert!(
            text.encode_utf16().count() > 4000,
            "{filler}: cut too early"
        );
        assert!(text.ends_with('…'), "{filler}");
        assert!(entities_whole(text), "{filler}");
        assert!(text.starts_with("<b>"));
        assert_eq!(text.matches("<b>").count(), text.matches("</b>").count());
    }
    // Short text is not cut.
    let (_, b) = one(telegram(), Language::En, &down());
    assert!(!b["text"].as_str().unwrap().contains('…'));
}

#[test]
fn discord_posts_embeds_with_wait_and_no_mentions() {
    let (o, b) = one(
        discord("https://discord.com/api/webhooks/1/SECRETDISCORD"),
        Language::En,
        &down(),
    );
    assert_eq!(
        o.url,
        "https://discord.com/api/webhooks/1/SECRETDISCORD?wait=true"
    );
    assert_eq!(b["allowed_mentions"], serde_json::json!({"parse": []}));
    assert!(b.get("content").is_none());
    let e = &b["embeds"][0];
    assert_eq!(e["title"], format!("{HOSTILE} is down"));
    assert_eq!(e["color"], 0xD00000);
    assert_eq!(e["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(e["fields"][0]["name"], "Target");
    assert_eq!(
        e["fields"][0]["value"],
        "\\<b\\>&\"x\"\\</b\\> @everyone \\<!channel\\> \\(web\\)"
    );
    assert_eq!(e["fields"][0]["inline"], true);
    assert_eq!(
        e["description"],
        "server web went from healthy to down: connection refused & \\<timeout\\>."
    );
    let mut linked = down();
    linked.text = "see [here](https://evil.example) *now* _x_".into();
    let (_, b) = one(discord("https://d/w/1/t"), Language::En, &linked);
    assert_eq!(
        b["embeds"][0]["description"],
        "see \\[here\\]\\(https://evil.example\\) \\*now\\* \\_x\\_"
    );
    for (given, want) in [
        (
            "https://d/api/webhooks/1/t?thread_id=9",
            "https://d/api/webhooks/1/t?thread_id=9&wait=true",
        ),
        (
            "https://d/api/webhooks/1/t?wait=false&thread_id=9",
            "https://d/api/webhooks/1/t?thread_id=9&wait=true",
        ),
        ("https://d/w/1/t?", "https://d/w/1/t?wait=true"),
        ("https://d/w/1/t#x", "https://d/w/1/t?wait=true#x"),
    ] {
        assert_eq!(discord::with_wait(given), want);
    }
}

#[test]
fn discord_embeds_stay_within_the_documented_limits() {
    let mut a = down();
    a.target_name = "n".repeat(400);
    a.text = "t".repeat(9000);
    let (_, b) = one(discord("https://d/w/1/t"), Language::En, &a);
    let e = &b["embeds"][0];
    let len = |v: &Value| v.as_str().unwrap().chars().count();
    assert!(len(&e["title"]) <= 256);
    assert!(len(&e["description"]) <= 4096);
    let mut total = len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]);
    for f in e["fields"].as_array().unwrap() {
        assert!(len(&f["name"]) <= 256 && len(&f["value"]) <= 1024);
        total += len(&f["name"]) + len(&f["value"]);
    }
    assert!(total <= 6000, "{total}");
}

#[test]
fn teams_posts_an_adaptive_card_right_to_left_for_arabic_and_persian() {
    let (o, b) = one(teams(), Language::En, &down());
    assert!(o.url.ends_with("sig=SECRETSIG"));
    assert_eq!(b["type"], "message");
    let att = &b["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(att["contentUrl"].is_null());
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.5");
    assert!(card.get("rtl").is_none());
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(card["body"][1]["type"], "FactSet");
    assert_eq!(card["body"][1]["facts"][0]["title"], "Target");
    for lang in [Language::Ar, Language::Fa] {
        let (_, b) = one(teams(), lang, &down());
        assert_eq!(b["attachments"][0]["content"]["rtl"], true);
    }
    let (_, b) = one(teams(), Language::Fa, &down());
    let card = &b["attachments"][0]["content"];
    assert_eq!(
        card["body"][0]["text"],
        "\\<b\\>&\"x\"\\</b\\> @everyone \\<!channel\\> از کار افتاده است"
    );
    assert_eq!(card["body"][1]["facts"][0]["title"], "هدف");
}

#[test]
fn teams_cards_show_markdown_in_names_and_alert_text_as_written() {
    let mut a = down();
    a.target_name = "[click](https://evil.example) **now**".into();
    a.text = "see [here](https://evil.example) *now* _x_\n- item # h".into();
    let (_, b) = one(teams(), Language::En, &a);
    let body = &b["attachments"][0]["content"]["body"];
    assert_eq!(
        body[0]["text"],
        "\\[click\\]\\(https://evil.example\\) \\*\\*now\\*\\* is down"
    );
    assert_eq!(
        body[1]["facts"][0]["value"],
        "\\[click\\]\\(https://evil.example\\) \\*\\*now\\*\\* \\(web\\)"
    );
    assert_eq!(
        body[2]["text"],
        "see \\[here\\]\\(https://evil.example\\) \\*now\\* \\_x\\_\n\\- item \\# h"
    );
    // Every TextBlock and FactSet value of the card: no unescaped link opener.
    let card = body.to_string();
    assert!(!card.contains("\"[click"), "{card}");
}

#[test]
fn arabic_and_persian_messages_read_in_their_language_with_the_reason_appended() {
    let (_, b) = one(telegram(), Language::Ar, &down());
    let t = b["text"].as_str().unwrap();
    assert!(t.contains(" متوقف</b>"), "{t}");
    assert!(t.contains("<b>الحالة:</b> سليم ← متوقف"), "{t}");
    assert!(t.contains("<b>الخطورة:</b> حرج"), "{t}");
    assert!(t.ends_with("connection refused &amp; &lt;timeout&gt;."));
    let (_, b) = one(slack(), Language::Fa, &recovery());
    assert!(b["text"].as_str().unwrap().ends_with("دوباره سالم شد"));
    let m = match render(&channel(email(), Language::Fa), &down(), &endpoints()) {
        Rendered::Mail(m) => m,
        other => panic!("{other:?}"),
    };
    assert!(m.subject.starts_with("[بحرانی] "), "{}", m.subject);
    assert!(m.text.contains("وضعیت: سالم ← از کار افتاده"), "{}", m.text);
}

fn email() -> ChannelConfig {
    ChannelConfig::Email {
        to: vec!["ops@example.com".into()],
        topic_arn: None,
    }
}

#[test]
fn email_has_a_one_line_subject_under_100_characters_and_a_plain_text_body() {
    let mut a = down();
    a.target_name = format!("line\nbreak\r{}", "x".repeat(200));
    let m = match render(&channel(email(), Language::En), &a, &endpoints()) {
        Rendered::Mail(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.to, vec!["ops@example.com".to_string()]);
    assert!(m.subject.chars().count() <= 99);
    assert!(!m.subject.chars().any(char::is_control));
    assert!(m.subject.starts_with("[Critical] line break "));
    assert!(m.subject.ends_with('…'));
    assert!(m.text.contains("Severity: Critical"));
    assert!(m.text.contains("connection refused & <timeout>."));
}

#[test]
fn a_webhook_gets_the_alert_and_its_text_signed() {
    let c = ChannelConfig::Webhook {
        url: "https://hooks.example.com/in?token=SECRETURL".into(),
        secret: "SECRETSIGNINGKEY16".into(),
    };
    let (o, b) = one(c, Language::Ar, &down());
    assert_eq!(o.sign_with.as_deref(), Some("SECRETSIGNINGKEY16"));
    assert_eq!(b["version"], 1);
    assert_eq!(b["type"], "alert");
    assert_eq!(b["alert"], serde_json::to_value(down()).unwrap());
    assert!(b["text"].as_str().unwrap().contains("متوقف"));
    assert_eq!(b.as_object().unwrap().len(), 4);
}

#[test]
fn pagerduty_triggers_on_down_and_resolves_on_recovery_with_the_same_dedup_key() {
    let (o, t) = one(pagerduty(), Language::En, &down());
    assert_eq!(o.url, "http://127.0.0.1:9002/v2/enqueue");
    assert!(o.headers.is_empty());
    assert_eq!(t["routing_key"], "R0UTINGKEYR0UTINGKEYR0UTINGKEY32");
    assert_eq!(t["event_action"], "trigger");
    assert_eq!(t["dedup_key"], "lookout/target/web");
    let p = &t["payload"];
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["source"], "web");
    assert_eq!(p["group"], "front");
    assert_eq!(p["class"], "status_change");
    assert_eq!(p["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(p["custom_details"]["target_id"], "web");
    assert_eq!(p["custom_details"]["tags"][0], "prod");
    assert!(p["summary"].as_str().unwrap().starts_with(HOSTILE));
    let (_, r) = one(pagerduty(), Language::En, &recovery());
    assert_eq!(r["event_action"], "resolve");
    assert_eq!(r["dedup_key"], t["dedup_key"]);
    assert!(r.get("payload").is_none());
    // A change to healthy resolves too; a reminder adds to the open incident.
    let healthy = alert(
        AlertKind::StatusChange,
        Status::Degraded,
        Status::Healthy,
        Severity::Info,
    );
    assert_eq!(
        one(pagerduty(), Language::En, &healthy).1["event_action"],
        "resolve"
    );
    let reminder = alert(
        AlertKind::Reminder,
        Status::Down,
        Status::Down,
        Severity::Critical,
    );
    let (_, rem) = one(pagerduty(), Language::En, &reminder);
    assert_eq!(
        (rem["event_action"].as_str(), rem["dedup_key"].as_str()),
        (Some("trigger"), Some("lookout/target/web"))
    );
    let mut long = down();
    long.text = "y".repeat(5000);
    let (_, t) = one(pagerduty(), Language::En, &long);
    assert!(t["payload"]["summary"].as_str().unwrap().chars().count() <= 1024);
}

#[test]
fn incident_keys_are_stable_per_subject() {
    let key = |a: &Alert| {
        let (_, b) = one(pagerduty(), Language::En, a);
        (
            b["event_action"].as_str().unwrap().to_string(),
            b["dedup_key"].as_str().unwrap().to_string(),
        )
    };
    let mut crit = alert(
        AlertKind::GroupCritical,
        Status::Healthy,
        Status::Down,
        Severity::Critical,
    );
    crit.target_id = String::new();
    crit.key = "group#proxy#front#critical#1".into();
    crit.target_kind = TargetKind::Proxy;
    let mut rec = crit.clone();
    rec.kind = AlertKind::GroupRecovered;
    rec.key = "group#proxy#front#recovered#2".into();
    assert_eq!(
        key(&crit),
        ("trigger".into(), "lookout/group/proxy/front".into())
    );
    assert_eq!(
        key(&rec),
        ("resolve".into(), "lookout/group/proxy/front".into())
    );
    let cert = alert(
        AlertKind::CertExpiring,
        Status::Healthy,
        Status::Healthy,
        Severity::Warning,
    );
    assert_eq!(key(&cert), ("trigger".into(), "lookout/cert/web".into()));
    let traffic = alert(
        AlertKind::Traffic,
        Status::Healthy,
        Status::Healthy,
        Severity::Warning,
    );
    assert_eq!(
        key(&traffic),
        ("trigger".into(), "lookout/traffic/web".into())
    );
    let blocked = alert(
        AlertKind::StatusChange,
        Status::Healthy,
        Status::Blocked,
        Severity::Warning,
    );
    assert_eq!(
        key(&blocked),
        ("trigger".into(), "lookout/target/web".into())
    );
}

#[test]
fn daily_reports_and_changes_to_degraded_or_unknown_are_skipped_by_incident_channels() {
    let mut report = alert(
        AlertKind::DailyReport,
        Status::Unknown,
        Status::Unknown,
        Severity::Info,
    );
    report.target_id = String::new();
    let degraded = alert(
        AlertKind::StatusChange,
        Status::Healthy,
        Status::Degraded,
        Severity::Warning,
    );
    let unknown = alert(
        AlertKind::StatusChange,
        Status::Healthy,
        Status::Unknown,
        Severity::Info,
    );
    for a in [&report, &degraded, &unknown] {
        for c in [pagerduty(), opsgenie()] {
            let r = render(&channel(c, Language::En), a, &endpoints());
            assert!(matches!(r, Rendered::Skip(_)), "{:?} {r:?}", a.kind);
        }
        // Chat channels still say it.
        assert_eq!(
            http(render(&channel(slack(), Language::En), a, &endpoints())).len(),
            1
        );
    }
}

fn storm() -> Alert {
    let change = |id: &str, old, new, kind| Change {
        kind,
        target_id: id.into(),
        target_name: id.to_uppercase(),
        group: "front".into(),
        old_status: old,
        new_status: new,
    };
    let mut s = alert(
        AlertKind::Storm,
        Status::Unknown,
        Status::Down,
        Severity::Critical,
    );
    s.key = "storm#server#1".into();
    s.target_id = String::new();
    s.targets = vec!["a".into(), "b".into(), "c".into(), "d".into()];
    s.changes = vec![
        change("a", Status::Healthy, Status::Down, AlertKind::StatusChange),
        change("b", Status::Down, Status::Healthy, AlertKind::Recovery),
        change(
            "c",
            Status::Healthy,
            Status::Degraded,
            AlertKind::StatusChange,
        ),
        change(
            "d",
            Status::Healthy,
            Status::Blocked,
            AlertKind::StatusChange,
        ),
        Change {
            target_id: String::new(),
            target_name: "group front".into(),
            ..change("", Status::Healthy, Status::Down, AlertKind::GroupCritical)
        },
    ];
    s
}

#[test]
fn a_storm_gives_one_incident_event_per_change_each_closed_by_its_targets_recovery() {
    let events = http(render(
        &channel(pagerduty(), Language::En),
        &storm(),
        &endpoints(),
    ));
    let got: Vec<(String, String, String)> = events
        .iter()
        .map(|o| {
            let b = body(o);
            (
                b["event_action"].as_str().unwrap().into(),
                b["dedup_key"].as_str().unwrap().into(),
                b["payload"]["severity"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let s = |a: &str, k: &str, sev: &str| (a.to_string(), k.to_string(), sev.to_string());
    assert_eq!(
        got,
        vec![
            s("trigger", "lookout/target/a", "critical"),
            s("resolve", "lookout/target/b", ""),
            s("trigger", "lookout/target/d", "warning"),
            s("trigger", "lookout/group/server/front", "critical"),
        ]
    );
    // Target a's own recovery later closes the storm's incident for a.
    let mut rec_a = recovery();
    rec_a.target_id = "a".into();
    let (_, r) = one(pagerduty(), Language::En, &rec_a);
    assert_eq!(r["dedup_key"], "lookout/target/a");
    // Opsgenie the same way, by alias.
    let og = http(render(
        &channel(opsgenie(), Language::En),
        &storm(),
        &endpoints(),
    ));
    assert_eq!(og.len(), 4);
    assert_eq!(body(&og[0])["alias"], "lookout/target/a");
    assert!(og[1]
        .url
        .ends_with("/v2/alerts/lookout%2Ftarget%2Fb/close?identifierType=alias"));
    // A storm whose changes open nothing, or without its changes, is skipped.
    let mut only_degraded = storm();
    only_degraded
        .changes
        .retain(|c| c.new_status == Status::Degraded);
    let mut legacy = storm();
    legacy.changes.clear();
    for a in [only_degraded, legacy] {
        let r = render(&channel(pagerduty(), Language::En), &a, &endpoints());
        assert!(matches!(r, Rendered::Skip(_)), "{r:?}");
    }
}

#[test]
fn opsgenie_creates_with_the_incident_alias_and_closes_by_alias() {
    let (o, c) = one(opsgenie(), Language::En, &down());
    assert_eq!(o.url, "http://127.0.0.1:9003/v2/alerts");
    assert_eq!(
        o.headers,
        vec![(
            "Authorization".to_string(),
            "GenieKey eb243592-faa2-4ba2-a551q-1afdf565c889".to_string()
        )]
    );
    assert_eq!(c["alias"], "lookout/target/web");
    assert_eq!(c["priority"], "P1");
    assert_eq!(c["source"], "lookout");
    assert_eq!(c["entity"], "web");
    assert!(c["message"].as_str().unwrap().chars().count() <= 130);
    assert!(c["description"]
        .as_str()
        .unwrap()
        .contains("connection refused"));
    assert_eq!(c["details"]["target_id"], "web");
    assert_eq!(
        c["tags"],
        serde_json::json!(["lookout", "status_change", "prod"])
    );
    let (o, close) = one(opsgenie(), Language::En, &recovery());
    assert_eq!(
        o.url,
        "http://127.0.0.1:9003/v2/alerts/lookout%2Ftarget%2Fweb/close?identifierType=alias"
    );
    assert_eq!(close["source"], "lookout");
    assert!(close.get("alias").is_none());
    let mut long = down();
    long.target_name = "ن".repeat(300);
    let (_, c) = one(opsgenie(), Language::Fa, &long);
    assert!(c["message"].as_str().unwrap().chars().count() <= 130);
    let warn = alert(
        AlertKind::StatusChange,
        Status::Healthy,
        Status::Blocked,
        Severity::Warning,
    );
    assert_eq!(one(opsgenie(), Language::En, &warn).1["priority"], "P3");
}

#[test]
fn a_test_message_opens_and_closes_its_incident_and_says_hello_elsewhere() {
    let e = endpoints();
    let pd = http(render_test(&channel(pagerduty(), Language::En), &e, AT));
    assert_eq!(pd.len(), 2);
    let (t, r) = (body(&pd[0]), body(&pd[1]));
    assert_eq!(
        (t["event_action"].as_str(), r["event_action"].as_str()),
        (Some("trigger"), Some("resolve"))
    );
    assert_eq!(t["dedup_key"], r["dedup_key"]);
    assert_eq!(t["dedup_key"], format!("lookout/test/ops/{AT}"));
    let og = http(render_test(&channel(opsgenie(), Language::En), &e, AT));
    assert_eq!(og.len(), 2);
    assert_eq!(body(&og[0])["alias"], format!("lookout/test/ops/{AT}"));
    assert_eq!(
        og[1].url,
        format!("http://127.0.0.1:9003/v2/alerts/lookout%2Ftest%2Fops%2F{AT}/close?identifierType=alias")
    );
    let tg = http(render_test(&channel(telegram(), Language::Fa), &e, AT));
    assert!(body(&tg[0])["text"]
        .as_str()
        .unwrap()
        .contains("پیام آزمایشی از Lookout به Ops"));
    let wh = http(render_test(
        &channel(
            ChannelConfig::Webhook {
                url: "https://h/x".into(),
                secret: "0123456789abcdef".into(),
            },
            Language::En,
        ),
        &e,
        AT,
    ));
    let b = body(&wh[0]);
    assert_eq!(
        (b["type"].as_str(), b["channel"].as_str()),
        (Some("test"), Some("ops"))
    );
    assert!(wh[0].sign_with.is_some());
    assert!(matches!(
        render_test(&channel(email(), Language::En), &e, AT),
        Rendered::Mail(_)
    ));
    for c in [slack(), discord("https://d/w/1/t"), teams()] {
        assert_eq!(
            http(render_test(&channel(c, Language::Ar), &e, AT)).len(),
            1
        );
    }
}

#[test]
fn an_outbound_request_never_shows_its_secrets_in_debug() {
    for c in [slack(), telegram(), teams(), pagerduty(), opsgenie()] {
        for o in http(render(&channel(c, Language::En), &down(), &endpoints())) {
            let d = format!("{o:?}");
            for secret in ["SECRET", "R0UTINGKEY", "eb243592", "123456:"] {
                assert!(!d.contains(secret), "{d}");
            }
        }
    }
}

const ALL_KINDS: [AlertKind; 15] = AlertKind::ALL;

#[test]
fn every_kind_of_alert_renders_on_every_channel_in_every_language() {
    let configs = [
        slack(),
        telegram(),
        discord("https://d/w/1/t"),
        teams(),
        pagerduty(),
        opsgenie(),
        email(),
        ChannelConfig::Webhook {
            url: "https://h/x".into(),
            secret: "0123456789abcdef".into(),
        },
    ];
    for kind in ALL_KINDS {
        let mut a = if kind == AlertKind::Storm {
            storm()
        } else {
            down()
        };
        a.kind = kind;
        for lang in [Language::En, Language::Ar, Language::Fa] {
            for c in &configs {
                match render(&channel(c.clone(), lang), &a, &endpoints()) {
                    Rendered::Http(v) => {
                        assert!(!v.is_empty(), "{kind:?} {lang:?} {:?}", c.kind());
                        for o in v {
                            let b = body(&o);
                            assert!(b.is_object(), "{kind:?} {lang:?} {:?}", c.kind());
                        }
                    }
                    Rendered::Mail(m) => assert!(m.subject.chars().count() <= 99),
                    Rendered::Skip(why) => assert!(
                        matches!(c.kind(), ChannelKind::Pagerduty | ChannelKind::Opsgenie),
                        "{kind:?} skipped on {:?}: {why}",
                        c.kind()
                    ),
                }
            }
        }
    }
}

use crate::notify::channel::ChannelKind;

proptest::proptest! {
    #[test]
    fn telegram_and_slack_text_never_carries_markup_from_the_alert(
        name in "\\PC{0,200}",
        text in "[<>&\"a-zض😀\n]{0,6000}",
    ) {
        let mut a = down();
        a.target_name = name;
        a.text = text;
        let (_, b) = one(telegram(), Language::Ar, &a);
        let t = b["text"].as_str().unwrap();
        proptest::prop_assert!(t.encode_utf16().count() <= 4096);
        proptest::prop_assert!(entities_whole(t));
        let bare = t.replace("<b>", "").replace("</b>", "");
        proptest::prop_assert!(!bare.contains('<') && !bare.contains('>'));
        let (_, s) = one(slack(), Language::En, &a);
        let section = &s["attachments"][0]["blocks"];
        for block in section.as_array().unwrap() {
            if block["text"]["type"] == "mrkdwn" {
                let m = block["text"]["text"].as_str().unwrap();
                proptest::prop_assert!(!m.contains('<') && !m.contains('>'));
                proptest::prop_assert!(m.chars().count() <= 3000);
            }
        }
    }
}

#[test]
fn a_paging_route_still_takes_the_alerts_that_close_its_incidents() {
    use crate::notify::Route;
    let paging = |config: ChannelConfig, route: Route| Channel {
        route,
        ..channel(config, Language::En)
    };
    let critical = Route {
        min_severity: Some(Severity::Critical),
        kinds: vec![AlertKind::StatusChange],
        ..Route::default()
    };
    let mut to_healthy = alert(
        AlertKind::StatusChange,
        Status::Down,
        Status::Healthy,
        Severity::Info,
    );
    to_healthy.key = "web#healthy#2".into();
    let mut group_recovered = recovery();
    group_recovered.kind = AlertKind::GroupRecovered;
    let mut quiet_storm = storm();
    quiet_storm.severity = Severity::Info;
    let mut warning = down();
    warning.severity = Severity::Warning;
    warning.kind = AlertKind::Reminder;
    let mut opening_storm = storm();
    opening_storm.severity = Severity::Info;
    opening_storm
        .changes
        .retain(|c| c.kind != AlertKind::Recovery);
    for config in [pagerduty(), opsgenie()] {
        let c = paging(config.clone(), critical.clone());
        for a in [
            &down(),
            &recovery(),
            &to_healthy,
            &group_recovered,
            &quiet_storm,
        ] {
            assert!(c.takes(a), "{:?} {:?}", c.kind(), a.kind);
        }
        // Triggers still pass the filters, or not.
        assert!(!c.takes(&warning), "{:?}", c.kind());
        assert!(!c.takes(&opening_storm), "{:?}", c.kind());
        // Groups and tags still apply to resolves; a disabled channel takes nothing.
        for route in [
            Route {
                groups: vec!["back".into()],
                ..critical.clone()
            },
            Route {
                tags: vec!["staging".into()],
                ..critical.clone()
            },
        ] {
            assert!(!paging(config.clone(), route).takes(&recovery()));
        }
        let mut off = c.clone();
        off.enabled = false;
        assert!(!off.takes(&recovery()));
    }
    // Message channels keep their filters.
    for config in [slack(), telegram(), teams()] {
        assert!(!paging(config, critical.clone()).takes(&recovery()));
    }
}

#[test]
fn a_silent_location_opens_its_incident_and_its_return_closes_it() {
    use crate::domain::location::{back_alert, silent_alert, LocationHealth};
    let h = LocationHealth {
        location: "eu-west-1".into(),
        last_seen: AT,
        silent: false,
    };
    let silent = silent_alert(&h, AT + 300_000, 180_000, TargetKind::Server);
    let back = back_alert("eu-west-1", AT, AT + 900_000, TargetKind::Server);
    let (_, t) = one(pagerduty(), Language::En, &silent);
    assert_eq!(
        (t["event_action"].as_str(), t["dedup_key"].as_str()),
        (Some("trigger"), Some("lookout/location/eu-west-1"))
    );
    assert_eq!(t["payload"]["severity"], "critical");
    assert_eq!(t["payload"]["source"], "lookout/location/eu-west-1");
    assert_eq!(t["payload"]["class"], "location_silent");
    assert!(t["payload"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("Probe location eu-west-1 is not reporting"));
    let (_, r) = one(pagerduty(), Language::En, &back);
    assert_eq!(
        (r["event_action"].as_str(), r["dedup_key"].as_str()),
        (Some("resolve"), Some("lookout/location/eu-west-1"))
    );
    let (o, c) = one(opsgenie(), Language::En, &silent);
    assert_eq!(c["alias"], "lookout/location/eu-west-1");
    assert_eq!(c["priority"], "P1");
    assert!(o.url.ends_with("/v2/alerts"));
    let (o, _) = one(opsgenie(), Language::En, &back);
    assert!(
        o.url
            .contains("/v2/alerts/lookout%2Flocation%2Feu-west-1/close"),
        "{}",
        o.url
    );
    // The back alert is info, yet a paging route takes it: it closes what the silence opened.
    assert!(incident::resolves(&back) && !incident::resolves(&silent));
}

#[test]
fn a_location_alert_names_the_location_and_not_a_target() {
    use crate::domain::location::{silent_alert, LocationHealth};
    let h = LocationHealth {
        location: "ap-south-1".into(),
        last_seen: AT,
        silent: false,
    };
    let a = silent_alert(&h, AT + 300_000, 180_000, TargetKind::Server);
    let en = message::Message::of(&a, Language::En);
    assert_eq!(en.title, "Probe location ap-south-1 is not reporting");
    let labels: Vec<&str> = en.fields.iter().map(|(l, _)| *l).collect();
    assert_eq!(labels, ["Location", "Severity", "Time"]);
    assert_eq!(en.fields[0].1, "ap-south-1");
    let fa = message::Message::of(&a, Language::Fa);
    assert_eq!(fa.fields[0], ("مکان", "ap-south-1".to_string()));
    assert!(fa.title.contains("ap-south-1") && fa.title.contains("گزارش"));
}

#[test]
fn a_quorum_alert_says_which_locations_saw_it_in_the_channel_language() {
    let mut a = down();
    a.locations = Some(crate::domain::LocationSplit {
        failing: vec!["eu-west-1".into(), "us-east-1".into()],
        passing: vec!["ap-south-1".into()],
        stale: Vec::new(),
    });
    let field = |lang| {
        message::Message::of(&a, lang)
            .fields
            .into_iter()
            .find(|(l, _)| {
                *l == crate::notify::i18n::label(lang, crate::notify::i18n::Label::Locations)
            })
            .map(|(_, v)| v)
    };
    assert_eq!(
        field(Language::En).as_deref(),
        Some("down from 2 of 3 locations (eu-west-1, us-east-1); ap-south-1 sees it healthy")
    );
    assert_eq!(
        field(Language::Ar).as_deref(),
        Some("متوقف وفق 2 من أصل 3 مواقع (eu-west-1، us-east-1)؛ ويراه سليمًا: ap-south-1")
    );
    assert_eq!(
        field(Language::Fa).as_deref(),
        Some("از دید 2 از 3 مکان (eu-west-1، us-east-1) از کار افتاده است؛ از دید ap-south-1 سالم است")
    );
    // It reaches the providers: Slack shows it as a field, Telegram in its text.
    let (_, s) = one(slack(), Language::Fa, &a);
    assert!(s.to_string().contains("از دید 2 از 3 مکان"), "{s}");
    assert!(field(Language::En).is_some() && down().locations.is_none());
    assert!(message::Message::of(&down(), Language::En)
        .fields
        .iter()
        .all(|(l, _)| *l != "Locations"));
}
