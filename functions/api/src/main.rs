use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = api::App::from_env().await?;
    run(service_fn(|req: Request| async {
        Ok::<_, Error>(api::handle(&app, req).await)
    }))
    .await
}
