//! Hands work to another function: an asynchronous Lambda invoke (`InvocationType=Event`), as
//! the API does with dumps and restores that outlast an HTTP request.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::sdk_message;
use lookout_app::ports::StoreError;

/// Invokes one function asynchronously.
#[derive(Clone, Debug)]
pub struct AsyncInvoker {
    client: super::LazyClient<aws_sdk_lambda::Client>,
    function: String,
}

impl AsyncInvoker {
    /// An invoker of `function` (name or ARN).
    pub fn new(
        client: impl Into<super::LazyClient<aws_sdk_lambda::Client>>,
        function: impl Into<String>,
    ) -> Self {
        AsyncInvoker {
            client: client.into(),
            function: function.into(),
        }
    }

    /// The function's name or ARN.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// Queues `payload` (JSON) for the function; Lambda answers 202 once it is queued, and
    /// runs it within seconds.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when Lambda refuses (no such function, no permission, payload
    /// over 256 KiB).
    pub async fn invoke(&self, payload: &serde_json::Value) -> Result<(), StoreError> {
        let body = serde_json::to_vec(payload).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(body))
            .send()
            .await
            .map_err(|e| StoreError::Backend(sdk_message(&e)))?;
        Ok(())
    }
}
