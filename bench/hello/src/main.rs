//! Hello world on `lambda_runtime`: the anchor of the cold-start benchmark. Like the functions,
//! it sets up the default tracing subscriber and runs on Tokio's multi-thread runtime; its
//! handler returns the event.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
