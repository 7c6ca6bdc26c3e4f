//! Rebasing a state from the snapshot on the stored state item, after a version conflict or
//! before a change made outside a probe run.

use super::TargetState;

impl TargetState {
    /// Takes from `stored` (the target's state item, `None` when it has none) what conditional
    /// writes and alerts depend on, and keeps the rest (counters, last check, traffic) as they
    /// are in `self` (the snapshot's or a pending override's state).
    ///
    /// Taken: `status`, `status_since` and `version`, because the state item is what a commit
    /// checks its version against and the status of record; and `last_alert_at`,
    /// `cert_alerted` and `flapping`, because the state item is written together with the alerts it raised
    /// (one transaction), while the snapshot can lag behind it: a state rebased with the
    /// snapshot's older alert bookkeeping would send a reminder or a certificate alert again.
    /// Without a state item only `version` is reset (to 0, "never written").
    pub fn rebase_on(&mut self, stored: Option<&TargetState>) {
        match stored {
            Some(stored) => {
                self.status = stored.status;
                self.status_since = stored.status_since;
                self.version = stored.version;
                self.last_alert_at = stored.last_alert_at;
                self.cert_alerted = stored.cert_alerted;
                self.flapping = stored.flapping;
            }
            None => self.version = 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Status;
    use super::*;

    #[test]
    fn a_rebased_state_has_the_stored_status_version_and_alert_bookkeeping_and_its_own_counters() {
        let mut snapshot = TargetState::new("t");
        snapshot.checks = 40;
        snapshot.last_check = Some(9_000);
        snapshot.version = 3;
        let mut stored = TargetState::new("t");
        stored.status = Status::Down;
        stored.status_since = 5_000;
        stored.version = 5;
        stored.last_alert_at = Some(5_000);
        stored.cert_alerted = Some(86_400_000);
        stored.checks = 1;
        snapshot.rebase_on(Some(&stored));
        assert_eq!(
            (snapshot.status, snapshot.status_since, snapshot.version),
            (Status::Down, 5_000, 5)
        );
        assert_eq!(
            (snapshot.last_alert_at, snapshot.cert_alerted),
            (Some(5_000), Some(86_400_000)),
            "the alerts already sent are not sent again"
        );
        assert_eq!((snapshot.checks, snapshot.last_check), (40, Some(9_000)));
    }

    #[test]
    fn without_a_state_item_only_the_version_starts_over() {
        let mut snapshot = TargetState::new("t");
        snapshot.status = Status::Healthy;
        snapshot.version = 2;
        snapshot.last_alert_at = Some(7);
        snapshot.rebase_on(None);
        assert_eq!(snapshot.version, 0);
        assert_eq!(
            (snapshot.status, snapshot.last_alert_at),
            (Status::Healthy, Some(7))
        );
    }
}
