use std::sync::Arc;

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = api::App::from_env().await?;
    lambda_http::run(api::router(Arc::new(app))).await
}
