//! `infra/local/local.env` is read by `cargo lambda watch` (`--env-file`), by `make` (`source`)
//! and by the demo: it must stay in the one shape all three parse.

#[test]
fn every_line_of_local_env_is_a_comment_or_a_plain_key_value_cargo_lambda_can_parse() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/local/local.env");
    let text = std::fs::read_to_string(path).unwrap();
    let mut keys = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: no `=`: {line}", n + 1));
        assert!(
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "line {}: key {key:?}",
            n + 1
        );
        // cargo-lambda 1.9.2's env-file parser answers ParseError to an `=` inside a value
        // (a base64 key's padding), and quotes or spaces would differ between the readers.
        assert!(
            !value.contains(['=', '"', '\'', ' ', '#', '$']),
            "line {}: {key}'s value has a character cargo lambda watch or bash would read \
             differently",
            n + 1
        );
        keys += 1;
    }
    assert!(keys >= 10, "{keys} settings");
}
