//! Integration tests live in tests/it (one binary, `it`: main.rs with a module per area).
