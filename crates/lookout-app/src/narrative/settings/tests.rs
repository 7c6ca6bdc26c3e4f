use std::collections::HashMap;

use super::*;

/// The settings of `vars` (blank values unset, as the environment's lookup has them).
fn read(vars: &[(&'static str, &str)]) -> Result<Option<NarrativeSettings>, ConfigError> {
    let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
    NarrativeSettings::from_lookup(|name| vars.get(name).filter(|v| !v.trim().is_empty()).cloned())
}

const BASE: (&str, &str) = ("LOOKOUT_LLM_BASE_URL", "https://api.openai.com/v1");
const MODEL: (&str, &str) = ("LOOKOUT_LLM_MODEL", "gpt-4o-mini");

#[test]
fn without_a_base_url_there_are_no_narratives() {
    assert_eq!(read(&[]).unwrap(), None);
    assert_eq!(read(&[MODEL, ("LOOKOUT_LLM_BASE_URL", " ")]).unwrap(), None);
}

#[test]
fn a_base_url_and_a_model_give_the_defaults() {
    let s = read(&[BASE, ("LOOKOUT_LLM_MODEL", " gpt-4o-mini ")])
        .unwrap()
        .unwrap();
    assert_eq!(
        s,
        NarrativeSettings {
            base_url: url::Url::parse("https://api.openai.com/v1").unwrap(),
            model: "gpt-4o-mini".into(),
            api_key: None,
            auth: AuthHeader::Bearer,
            timeout_ms: 20_000,
            max_tokens: 400,
            max_tokens_field: MaxTokensField::MaxTokens,
            monthly_tokens: 2_000_000,
            scopes: NarrativeScopes::Global,
            language: Language::En,
        }
    );
    assert_eq!(
        s.policy(),
        NarrationPolicy {
            scopes: NarrativeScopes::Global,
            monthly_token_budget: Some(2_000_000),
        }
    );
}

#[test]
fn every_setting_is_read() {
    let s = read(&[
        BASE,
        MODEL,
        (
            "LOOKOUT_LLM_API_KEY",
            " {{secretsmanager:lookout/llm#key}} ",
        ),
        ("LOOKOUT_LLM_AUTH", "api-key"),
        ("LOOKOUT_LLM_TIMEOUT_MS", "5000"),
        ("LOOKOUT_LLM_MAX_TOKENS", "800"),
        ("LOOKOUT_LLM_MAX_TOKENS_FIELD", "max_completion_tokens"),
        ("LOOKOUT_LLM_MONTHLY_TOKENS", "100000"),
        ("LOOKOUT_LLM_SCOPES", "notable"),
        ("LOOKOUT_LLM_LANGUAGE", "fa"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(
        s.api_key,
        Some(SecretRef::SecretsManager {
            id: "lookout/llm".into(),
            key: Some("key".into())
        })
    );
    assert_eq!(s.auth, AuthHeader::ApiKey);
    assert_eq!(
        (s.timeout_ms, s.max_tokens, s.monthly_tokens),
        (5_000, 800, 100_000)
    );
    assert_eq!(s.max_tokens_field.name(), "max_completion_tokens");
    assert_eq!(
        (s.scopes, s.language),
        (NarrativeScopes::Notable, Language::Fa)
    );
    let ssm = read(&[
        BASE,
        MODEL,
        ("LOOKOUT_LLM_API_KEY", "{{ssm:/lookout/llm-key}}"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(ssm.api_key, Some(SecretRef::Ssm("/lookout/llm-key".into())));
}

#[test]
fn each_error_names_its_variable() {
    let cases: [(&'static str, &str); 14] = [
        ("LOOKOUT_LLM_BASE_URL", "api.openai.com/v1"),
        ("LOOKOUT_LLM_BASE_URL", "ftp://api.openai.com/v1"),
        ("LOOKOUT_LLM_AUTH", "basic"),
        ("LOOKOUT_LLM_TIMEOUT_MS", "99"),
        ("LOOKOUT_LLM_TIMEOUT_MS", "60001"),
        ("LOOKOUT_LLM_TIMEOUT_MS", "20s"),
        ("LOOKOUT_LLM_MAX_TOKENS", "0"),
        ("LOOKOUT_LLM_MAX_TOKENS", "16385"),
        ("LOOKOUT_LLM_MAX_TOKENS_FIELD", "max_output_tokens"),
        ("LOOKOUT_LLM_MONTHLY_TOKENS", "0"),
        ("LOOKOUT_LLM_MONTHLY_TOKENS", "-5"),
        ("LOOKOUT_LLM_SCOPES", "all"),
        ("LOOKOUT_LLM_LANGUAGE", "de"),
        ("LOOKOUT_LLM_API_KEY", "{{ssm:/a}} and {{ssm:/b}}"),
    ];
    for (name, value) in cases {
        let e = read(&[BASE, MODEL, (name, value)]).unwrap_err();
        assert_eq!(e.name, name, "{value}: {e}");
        assert!(
            e.to_string().starts_with(&format!("setting {name}: ")),
            "{e}"
        );
    }
    let e = read(&[BASE]).unwrap_err();
    assert_eq!(e.name, "LOOKOUT_LLM_MODEL", "{e}");
}

#[test]
fn a_plain_key_is_refused_without_being_repeated() {
    for plain in [
        "sk-proj-S3cr3tKeyValue0123456789",
        "Bearer sk-S3cr3tKeyValue0123456789",
        "sk-S3cr3tKeyValue{{ssm:/lookout/llm-key}}",
    ] {
        let e = read(&[BASE, MODEL, ("LOOKOUT_LLM_API_KEY", plain)]).unwrap_err();
        assert_eq!(e.name, "LOOKOUT_LLM_API_KEY");
        assert!(e.problem.contains("secret reference"), "{e}");
        assert!(!e.to_string().contains("S3cr3t"), "{e}");
    }
}

#[test]
fn a_base_url_with_credentials_is_refused_and_they_are_masked() {
    let e = read(&[
        (
            "LOOKOUT_LLM_BASE_URL",
            "https://user:S3cr3t-pass@api.openai.com/v1",
        ),
        MODEL,
    ])
    .unwrap_err();
    assert_eq!(e.name, "LOOKOUT_LLM_BASE_URL");
    assert!(!e.to_string().contains("S3cr3t"), "{e}");
    assert!(e.problem.contains("without credentials"), "{e}");
    // No scheme: `user:pw@host` parses as the scheme `user`; still masked.
    for raw in [
        "user:S3cr3t-pass@api.openai.com/v1",
        "S3cr3t-key@api.openai.com/v1",
    ] {
        let e = read(&[("LOOKOUT_LLM_BASE_URL", raw), MODEL]).unwrap_err();
        assert_eq!(e.name, "LOOKOUT_LLM_BASE_URL");
        assert!(!e.to_string().contains("S3cr3t"), "{e}");
        assert!(e.to_string().contains("***@api.openai.com"), "{e}");
    }
    let e = read(&[
        (
            "LOOKOUT_LLM_BASE_URL",
            "https://S3cr3t-token@api.openai.com/v1",
        ),
        MODEL,
    ])
    .unwrap_err();
    assert_eq!(e.name, "LOOKOUT_LLM_BASE_URL");
    assert!(!e.to_string().contains("S3cr3t"), "{e}");
}

#[test]
fn an_azure_url_keeps_its_query() {
    let s = read(&[
        (
            "LOOKOUT_LLM_BASE_URL",
            "https://lookout.openai.azure.com/openai/deployments/digest?api-version=2024-10-21",
        ),
        ("LOOKOUT_LLM_MODEL", "gpt-4o-mini"),
        ("LOOKOUT_LLM_AUTH", "api-key"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(s.base_url.query(), Some("api-version=2024-10-21"));
    assert_eq!(s.base_url.path(), "/openai/deployments/digest");
    assert_eq!(s.auth, AuthHeader::ApiKey);
}
