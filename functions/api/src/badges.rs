//! Shields-style SVG badges: a grey label box and a coloured value box, as shields.io draws
//! them (its `flat` and `flat-square` styles) and as Uptime Kuma and Gatus serve them. The
//! boxes are as wide as their text measured with shields' own table of Verdana 11 px character
//! widths, plus 5 px of padding on each side. Every text is XML-escaped.
//!
//! The data of each badge (status, uptime, latency of a target or a group) is read in
//! [`crate::routes::badges`]; this module only draws.

use std::fmt::Write as _;

/// Shields' colour names and their values (badge-maker's `namedColors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// `#4c1`: up, uptime at least 99.9 %, latency under 50 ms.
    BrightGreen,
    /// `#97ca00`.
    Green,
    /// `#dfb317`.
    Yellow,
    /// `#fe7d37`.
    Orange,
    /// `#e05d44`: down.
    Red,
    /// `#9f9f9f`: unknown, no data, not found.
    LightGrey,
}

impl Colour {
    /// The CSS colour.
    pub fn hex(self) -> &'static str {
        match self {
            Colour::BrightGreen => "#4c1",
            Colour::Green => "#97ca00",
            Colour::Yellow => "#dfb317",
            Colour::Orange => "#fe7d37",
            Colour::Red => "#e05d44",
            Colour::LightGrey => "#9f9f9f",
        }
    }

    /// Shields' name of the colour.
    pub fn name(self) -> &'static str {
        match self {
            Colour::BrightGreen => "brightgreen",
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Orange => "orange",
            Colour::Red => "red",
            Colour::LightGrey => "lightgrey",
        }
    }
}

/// The badge's look: shields' `flat` (rounded corners, a light gradient) or `flat-square`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Rounded (3 px) with a gradient (the default).
    #[default]
    Flat,
    /// Square corners, no gradient.
    FlatSquare,
}

impl Style {
    /// `flat` or `flat-square`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Style> {
        match text {
            "flat" => Some(Style::Flat),
            "flat-square" => Some(Style::FlatSquare),
            _ => None,
        }
    }
}

/// Widths (px) of the printable ASCII characters, space (32) to tilde (126), in Verdana at
/// 11 px: shields' badge-maker table (`widths-verdana-11.json`, from anafanafo), rounded to
/// hundredths.
const VERDANA_11: [f64; 95] = [
    3.87, 4.33, 5.05, 9.0, 6.99, 11.84, 7.99, 2.95, 4.99, 4.99, 6.99, 9.0, 4.0, 4.99, 4.0, 4.99,
    6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 4.99, 4.99, 9.0, 9.0, 9.0, 6.0,
    11.0, 7.52, 7.54, 7.68, 8.48, 6.96, 6.32, 8.53, 8.27, 4.61, 5.0, 7.62, 6.12, 9.27, 8.23, 8.66,
    6.63, 8.66, 7.65, 7.52, 6.78, 8.05, 7.52, 10.88, 7.54, 6.77, 7.54, 4.99, 4.99, 4.99, 9.0, 6.99,
    6.99, 6.61, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85, 6.96, 3.02, 3.79, 6.51, 3.02, 10.7, 6.96, 6.68,
    6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51, 9.0, 6.51, 6.51, 5.78, 6.98, 4.99, 6.98, 9.0,
];

/// The width of a character outside the table (Arabic, Persian, anything not ASCII): that of
/// `m`, the widest lower-case letter, as badge-maker falls back to, so such text is never cut.
const FALLBACK_WIDTH: f64 = 10.7;

/// The width of `text` in Verdana 11 px, px.
pub fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| {
            let i = c as usize;
            if (32..127).contains(&i) {
                VERDANA_11[i - 32]
            } else {
                FALLBACK_WIDTH
            }
        })
        .sum()
}

/// Longest custom label (`label=`), characters.
pub const MAX_LABEL_CHARS: usize = 40;

/// One badge.
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    /// The left, grey box's text.
    pub label: String,
    /// The right box's text.
    pub value: String,
    pub colour: Colour,
    pub style: Style,
}

/// `text` with `&`, `<`, `>`, `"` and `'` as XML entities (the five XML predefines).
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow (controls other than tab, newline, return).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

impl Badge {
    /// The badge as an SVG document (shields' layout: text 110 % size scaled by 0.1 for crisp
    /// rendering, a 1 px shadow under each text, `<title>` for screen readers).
    pub fn svg(&self) -> String {
        let label_w = (text_width(&self.label) + 10.0).round();
        let value_w = (text_width(&self.value) + 10.0).round();
        let width = label_w + value_w;
        let label = xml_escape(&self.label);
        let value = xml_escape(&self.value);
        let (radius, gradient) = match self.style {
            Style::Flat => (
                3,
                r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
            ),
            Style::FlatSquare => (0, ""),
        };
        let mut svg = String::with_capacity(1200);
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title>{gradient}<clipPath id="r"><rect width="{width}" height="20" rx="{radius}" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{label_w}" height="20" fill="#555"/><rect x="{label_w}" width="{value_w}" height="20" fill="{colour}"/>"##,
            colour = self.colour.hex(),
        );
        if self.style == Style::Flat {
            let _ = write!(svg, r#"<rect width="{width}" height="20" fill="url(#s)"/>"#);
        }
        svg.push_str("</g>");
        let _ = write!(
            svg,
            r##"<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">"##
        );
        for (text, x, w) in [
            (&label, label_w / 2.0, label_w - 10.0),
            (&value, label_w + value_w / 2.0, value_w - 10.0),
        ] {
            let (x, w) = ((x * 10.0).round(), (w * 10.0).round());
            let _ = write!(
                svg,
                r##"<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{w}">{text}</text><text x="{x}" y="140" transform="scale(.1)" fill="#fff" textLength="{w}">{text}</text>"##
            );
        }
        svg.push_str("</g></svg>");
        svg
    }
}

/// The colour of an uptime (percent): at least 99.9 brightgreen, 99 green, 97 yellow, 95
/// orange, below red; no checks lightgrey.
pub fn uptime_colour(percent: Option<f64>) -> Colour {
    match percent {
        None => Colour::LightGrey,
        Some(p) if p >= 99.9 => Colour::BrightGreen,
        Some(p) if p >= 99.0 => Colour::Green,
        Some(p) if p >= 97.0 => Colour::Yellow,
        Some(p) if p >= 95.0 => Colour::Orange,
        Some(_) => Colour::Red,
    }
}

/// The colour of a latency (ms), with Gatus's response-time badge thresholds: under 50
/// brightgreen, 200 green, 300 yellow, 500 orange, above red.
pub fn latency_colour(ms: u64) -> Colour {
    match ms {
        0..50 => Colour::BrightGreen,
        50..200 => Colour::Green,
        200..300 => Colour::Yellow,
        300..500 => Colour::Orange,
        _ => Colour::Red,
    }
}

/// An uptime as the badge writes it: `100%` when nothing failed, two decimals otherwise
/// (never rounded up to 100), `no data` without checks.
pub fn uptime_text(checks: u64, failures: u64) -> String {
    if checks == 0 {
        return "no data".into();
    }
    if failures == 0 {
        return "100%".into();
    }
    let p = (checks - failures) as f64 * 100.0 / checks as f64;
    // Floor to hundredths, so 99.999 % shows 99.99 %, not 100.00 %.
    format!("{:.2}%", (p * 100.0).floor() / 100.0)
}

#[cfg(test)]
mod tests;
