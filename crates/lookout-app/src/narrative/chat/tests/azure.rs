//! Answers beyond the plain ones: Azure OpenAI's filtered prompt, a text cut at the token limit.

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

#[tokio::test]
async fn a_text_cut_at_the_token_limit_is_kept_and_marked() {
    let provider = Provider::start(Expect::openai(), |_| {
        Reply::json(
            200,
            &serde_json::json!({"id": "c", "object": "chat.completion", "model": "m",
                "choices": [{"index": 0, "finish_reason": "length",
                    "message": {"role": "assistant", "content": "Two targets were down and"}}]}),
        )
    })
    .await;
    let got = client(&provider.base(), &[])
        .summarise(&digest())
        .await
        .unwrap();
    assert_eq!(got.text, "Two targets were down and …");
    // A reasoning model that spent the whole limit thinking answers no text: refused, saying so.
    let empty = Provider::start(Expect::openai(), |_| {
        Reply::json(
            200,
            &serde_json::json!({"id": "c", "object": "chat.completion", "model": "m",
                "choices": [{"index": 0, "finish_reason": "length",
                    "message": {"role": "assistant", "content": ""}}]}),
        )
    })
    .await;
    let got = client(&empty.base(), &[]).summarise(&digest()).await;
    assert!(
        matches!(&got, Err(SummaryError::Refused(t)) if t.contains("LOOKOUT_LLM_MAX_TOKENS")),
        "{got:?}"
    );
}
