//! The `tcp` check: not built yet (issue 21 skeleton; the helper's branch replaces this file).

use super::{connect, Attempt, Failure, Prober};
use lookout_core::domain::{ErrorKind, Target, TcpCheck};

impl Prober {
    pub(super) async fn check_tcp(
        &self,
        _target: &Target,
        _c: &TcpCheck,
        _ctx: &connect::ConnectContext,
    ) -> Attempt {
        Attempt::failed(Failure::new(ErrorKind::Other, "not built yet"), 0)
    }
}
