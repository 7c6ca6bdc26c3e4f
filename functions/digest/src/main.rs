use lambda_runtime::{service_fn, Error, LambdaEvent};
use lookout_app::usecases::event::Payload;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = digest::Deps::from_env().await?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<Payload<digest::DigestEvent>>| deps.invoke(event),
    ))
    .await
}
