//! The one rule for SNS subjects, used by the alert publisher, the e-mail channels' SNS path
//! ([`crate::mail`]) and the status page's notices ([`super::SnsIncidentNotices`]).
//!
//! SNS `Publish` takes a `Subject` of printable ASCII, no line breaks, under 100 characters
//! (<https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>), and refuses the whole
//! message otherwise.

/// SNS's bound on `Subject`: fewer than this many characters.
pub const SNS_SUBJECT_MAX: usize = 100;

/// Whether SNS takes `subject` as it is: 1 to 99 characters, all printable ASCII (space to `~`).
pub fn fits(subject: &str) -> bool {
    !subject.trim().is_empty()
        && subject.len() < SNS_SUBJECT_MAX
        && subject.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// `subject` made into one SNS takes: its first line, typographic dashes and quotes as their
/// ASCII forms, every other character that is not printable ASCII left out, runs of spaces as
/// one, cut to 99 characters; `fallback` (which must fit) when nothing is left (a subject all
/// in Arabic or Persian).
pub fn sns_subject(subject: &str, fallback: &str) -> String {
    let line = subject.lines().next().unwrap_or_default();
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        let c = match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' | '\u{00AB}' | '\u{00BB}' => '"',
            c if c.is_whitespace() => ' ',
            c if (' '..='~').contains(&c) => c,
            _ => continue,
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(SNS_SUBJECT_MAX - 1);
    let out = out.trim_end();
    // A subject of only punctuation left from the dashes of a non-ASCII one says nothing.
    if out.chars().any(|c| c.is_ascii_alphanumeric()) {
        out.to_owned()
    } else {
        fallback.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_made_printable_ascii_under_100_characters() {
        for (given, made) in [
            ("[Lookout] web is down", "[Lookout] web is down"),
            ("Incident: web — down\nweb: down", "Incident: web - down"),
            (
                "Incident: وب از کار افتاد — investigating",
                "Incident: - investigating",
            ),
            ("a\u{7}b  \t c", "ab c"),
            ("وب از کار افتاد", "Status update"),
            ("— — —", "Status update"),
            ("", "Status update"),
        ] {
            let s = sns_subject(given, "Status update");
            assert_eq!(s, made, "{given:?}");
            assert!(fits(&s), "{s:?}");
        }
        for long in [
            "x".repeat(150),
            "é".repeat(150),
            format!("{}—{}", "a".repeat(98), "b".repeat(20)),
        ] {
            let s = sns_subject(&long, "Status update");
            assert!(fits(&s) && s.len() <= 99, "{} chars: {s:?}", s.len());
        }
        assert!(!fits("two\nlines") && !fits(&"x".repeat(100)) && !fits("—") && !fits(" "));
        assert!(fits(&"x".repeat(99)));
    }
}
