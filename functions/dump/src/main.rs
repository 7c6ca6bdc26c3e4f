// The dump and restore futures nest deeply enough to pass the default query depth of 128.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = dump::Deps::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        deps.handle(event.payload)
    }))
    .await
}
