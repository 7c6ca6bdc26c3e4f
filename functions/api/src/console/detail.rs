//! Placeholder: filled in by the console's detail work.

use axum::Router;

use crate::routes::AppState;
use crate::Store;

/// This module's routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
}
