//! The production wiring: the table (channels and delivery records), the providers' HTTP and
//! e-mail, built through the [`lookout_aws::Aws`] facade (no aws-sdk type here).

use crate::{handle, SqsBatchResponse, SqsEvent};
use lookout_app::usecases::notify::Notifier;

/// The production wiring, built once per cold start.
pub type AwsNotifier = Notifier<
    lookout_aws::dynamodb::DynamoStore,
    lookout_aws::dynamodb::DynamoStore,
    lookout_app::notify::HttpNotifier,
    lookout_aws::mail::AwsMail,
>;

/// The function's dependencies.
pub struct Deps {
    /// The use case over the table, the providers and e-mail.
    pub notifier: AwsNotifier,
}

impl Deps {
    /// Reads the settings and builds the adapters from the environment (no AWS call yet).
    ///
    /// # Errors
    /// A message naming the setting that is missing or wrong.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout_app::config::Settings::from_env()?;
        let aws = lookout_aws::Aws::from_env().await;
        Ok(Deps::new(&aws, &settings))
    }

    /// The adapters for `settings` through `aws` (tests build it so, with their own settings).
    pub fn new(aws: &lookout_aws::Aws, settings: &lookout_app::config::Settings) -> Self {
        // The store opens channel secrets (webhook URLs, tokens) with the settings' key.
        let store = aws.store(settings);
        Deps {
            notifier: Notifier {
                channels: store.clone(),
                log: store,
                http: lookout_app::notify::HttpNotifier::from_settings(settings),
                mail: aws.mail_sender(settings),
                // Secret references in channel settings ({{ssm:...}}), resolved when sending.
                secrets: aws.secrets(),
                clock: std::sync::Arc::new(lookout_app::clock::SystemClock),
                settings: lookout_app::usecases::notify::NotifySettings::from_settings(settings),
            },
        }
    }

    /// The Lambda handler.
    ///
    /// # Errors
    /// [`crate::HandlerError`], as a [`lambda_runtime::Diagnostic`].
    pub async fn invoke(
        &self,
        event: lambda_runtime::LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, lambda_runtime::Diagnostic> {
        // 0: a context without a deadline (a local invoke).
        let deadline = i64::try_from(event.context.deadline)
            .ok()
            .filter(|d| *d > 0);
        Ok(handle(&self.notifier, event.payload, deadline).await?)
    }
}
