use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = probe::Deps::from_env().await?;
    if let Some(args) = probe::local::PollArgs::parse(std::env::args().skip(1))? {
        let aws = lookout_aws::Aws::from_env().await;
        let poller = lookout_aws::sqs::QueuePoller::from_config(aws.sdk_config(), &args.queue_url)
            .with_batch(1, 1);
        deps.worker().run(&poller, &args).await;
        return Ok(());
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<probe::ProbeInput>| {
        deps.invoke(event)
    }))
    .await
}
