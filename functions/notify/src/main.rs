use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = notify::Deps::from_env().await?;
    if let Some(args) = notify::local::PollArgs::parse(std::env::args().skip(1))? {
        let aws = lookout_aws::Aws::from_env().await;
        let poller = lookout_aws::sqs::QueuePoller::from_config(aws.sdk_config(), &args.queue_url);
        notify::local::run(&poller, &deps.notifier, &args).await;
        return Ok(());
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<notify::SqsEvent>| {
        deps.invoke(event)
    }))
    .await
}
