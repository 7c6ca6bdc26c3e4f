use super::*;

fn badge(label: &str, value: &str, colour: Colour, style: Style) -> String {
    Badge {
        label: label.into(),
        value: value.into(),
        colour,
        style,
    }
    .svg()
}

/// A rect's width and fill.
type Rect = (Option<String>, Option<String>);

/// The texts of the badge's `<text>` elements, the rects and the badge's width.
fn parts(svg: &str) -> (Vec<String>, Vec<Rect>, String) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let texts = root
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect();
    let rects = root
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .map(|n| {
            (
                n.attribute("width").map(str::to_string),
                n.attribute("fill").map(str::to_string),
            )
        })
        .collect();
    (texts, rects, root.attribute("width").unwrap().to_string())
}

#[test]
fn a_badge_is_two_boxes_as_wide_as_their_text() {
    let svg = badge("uptime 30d", "99.95%", Colour::BrightGreen, Style::Flat);
    let (texts, rects, width) = parts(&svg);
    assert_eq!(texts, ["uptime 30d", "uptime 30d", "99.95%", "99.95%"]);
    // Verdana 11 px: "uptime 30d" is 63.11 px, "99.95%" 43.8 px, each plus 10 px padding.
    let label_w = (text_width("uptime 30d") + 10.0).round();
    let value_w = (text_width("99.95%") + 10.0).round();
    assert_eq!((label_w, value_w), (73.0, 54.0));
    assert_eq!(width, format!("{}", label_w + value_w));
    assert!(rects.contains(&(Some("73".into()), Some("#555".into()))));
    assert!(rects.contains(&(Some("54".into()), Some("#4c1".into()))));
    assert!(svg.contains("rx=\"3\"") && svg.contains("url(#s)"));
    let square = badge(
        "uptime 30d",
        "99.95%",
        Colour::BrightGreen,
        Style::FlatSquare,
    );
    assert!(square.contains("rx=\"0\"") && !square.contains("url(#s)"));
}

#[test]
fn wider_letters_make_a_wider_box_and_other_scripts_are_never_cut() {
    assert!(text_width("WWW") > text_width("iii") * 2.0);
    assert_eq!(text_width("مم"), 2.0 * FALLBACK_WIDTH);
    assert_eq!(text_width(""), 0.0);
}

#[test]
fn hostile_text_stays_text() {
    let hostile = "<script>alert(1)</script>\" onmouseover=\"x &amp;";
    let svg = badge(hostile, "down", Colour::Red, Style::Flat);
    assert!(!svg.contains("<script>"), "{svg}");
    let (texts, ..) = parts(&svg);
    assert_eq!(texts[0], hostile);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(doc
        .descendants()
        .all(|n| n.attribute("onmouseover").is_none()));
    assert_eq!(
        doc.root_element().attribute("aria-label").unwrap(),
        format!("{hostile}: down")
    );
    // A control character XML does not allow is replaced, so the document still parses.
    parts(&badge("a\u{1}b", "x", Colour::Red, Style::Flat));
}

#[test]
fn colours_and_texts_follow_the_thresholds() {
    assert_eq!(uptime_colour(Some(100.0)), Colour::BrightGreen);
    assert_eq!(uptime_colour(Some(99.5)), Colour::Green);
    assert_eq!(uptime_colour(Some(98.0)), Colour::Yellow);
    assert_eq!(uptime_colour(Some(96.0)), Colour::Orange);
    assert_eq!(uptime_colour(Some(50.0)), Colour::Red);
    assert_eq!(uptime_colour(None), Colour::LightGrey);
    assert_eq!(latency_colour(49), Colour::BrightGreen);
    assert_eq!(latency_colour(150), Colour::Green);
    assert_eq!(latency_colour(250), Colour::Yellow);
    assert_eq!(latency_colour(499), Colour::Orange);
    assert_eq!(latency_colour(500), Colour::Red);
    assert_eq!(uptime_text(0, 0), "no data");
    assert_eq!(uptime_text(100, 0), "100%");
    assert_eq!(uptime_text(100_000, 1), "99.99%");
    assert_eq!(uptime_text(3, 1), "66.66%");
    assert_eq!(Style::parse("flat-square"), Some(Style::FlatSquare));
    assert_eq!(Style::parse("plastic"), None);
    assert_eq!(Colour::Yellow.name(), "yellow");
}
