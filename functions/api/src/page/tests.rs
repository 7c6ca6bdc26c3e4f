//! Unit tests of the page's pieces: labels, the bar, the order, incidents' words.

use askama::filters::Escaper as _;

use super::HtmlEntities;

#[test]
fn the_escaper_spells_the_five_html_characters_as_named_entities() {
    let mut out = String::new();
    HtmlEntities
        .write_escaped_str(&mut out, "<a title=\"x\">Tom & Jerry's</a> خادم")
        .unwrap();
    assert_eq!(
        out,
        "&lt;a title=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt; خادم"
    );
}
