//! The `dns` check: not built yet (issue 21 skeleton; the helper's branch replaces this file).

use super::{connect, Attempt, Failure, Prober};
use lookout_core::domain::{DnsCheck, ErrorKind, Target};

impl Prober {
    pub(super) async fn check_dns(
        &self,
        _target: &Target,
        _c: &DnsCheck,
        _ctx: &connect::ConnectContext,
    ) -> Attempt {
        Attempt::failed(Failure::new(ErrorKind::Other, "not built yet"), 0)
    }
}
