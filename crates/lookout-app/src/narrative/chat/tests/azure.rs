//! Azure OpenAI's own answers.

use super::*;

#[tokio::test]
async fn azure_s_prompt_filter_is_a_refusal() {
    // Azure OpenAI's answer to a prompt its content filter stopped: 400, `error.code`
    // `content_filter`.
    let provider = Provider::start(Expect::openai(), |_| {
        Reply::json(
            400,
            &serde_json::json!({"error": {"code": "content_filter", "status": 400,
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."}}),
        )
    })
    .await;
    let got = client(&provider.base(), &[]).summarise(&digest()).await;
    assert!(
        matches!(&got, Err(SummaryError::Refused(t)) if t.contains("content filter")),
        "{got:?}"
    );
    // Any other 400 stays a failure.
    let other = Provider::start(Expect::openai(), |_| {
        Reply::json(
            400,
            &serde_json::json!({"error": {"code": "invalid_request_error", "message": "bad"}}),
        )
    })
    .await;
    let got = client(&other.base(), &[]).summarise(&digest()).await;
    assert!(matches!(&got, Err(SummaryError::Failed(_))), "{got:?}");
}
