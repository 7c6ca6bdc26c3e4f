//! Reaching notification providers: [`HttpNotifier`], the HTTP sender of the requests
//! `lookout_core::notify::render` builds, and [`sign`], the signatures of generic webhooks
//! (and their verification, for receivers and tests). The flow that claims, sends, retries and
//! records is the use case `crate::usecases::notify`.

pub mod http;
pub mod sign;

pub use http::HttpNotifier;
