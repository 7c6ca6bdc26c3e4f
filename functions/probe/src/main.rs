use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = probe::Deps::from_env().await?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `probe --run '<event JSON>'`: one invocation with this process's environment, the answer
    // printed as JSON (the demo runs three locations so, each with its own LOOKOUT_LOCATION).
    if let [flag, event] = args.as_slice() {
        if flag == "--run" {
            let input: probe::ProbeInput = serde_json::from_str(event)?;
            let answer = deps.handle_input(input, None).await?;
            println!("{}", serde_json::to_string(&answer)?);
            return Ok(());
        }
    }
    if let Some(args) = probe::local::PollArgs::parse(args)? {
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
