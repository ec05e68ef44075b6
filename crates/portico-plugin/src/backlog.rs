//! The catalog's ingestion backlog, for background work that should yield to it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Whether the catalog is working through a backlog (a first ingestion, a large location
/// registered or changed), until its read index has applied the result. Followers of the
/// catalog's change feed that are not on its read path — the search index, the docs checks —
/// wait for it to clear before each round, so that a burst of ingestion gets the CPU to itself
/// and their memory peaks do not add to its own; they then take in the burst's result at once.
/// Cheap to clone; all clones share one state.
#[derive(Debug, Clone)]
pub struct Backlog {
    working: Arc<watch::Sender<bool>>,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog { working: Arc::new(watch::channel(false).0) }
    }
}

impl Backlog {
    /// Marks the backlog as being worked through (`true`) or cleared (`false`).
    pub fn set_working(&self, working: bool) {
        self.working.send_if_modified(|current| std::mem::replace(current, working) != working);
    }

    pub fn is_working(&self) -> bool {
        *self.working.borrow()
    }

    /// A receiver that sees every change of the flag (for a loop that relays it).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.working.subscribe()
    }

    /// How long background work yields to a backlog at most: a long ingestion (100,000
    /// entities) still reaches search and docs this often.
    pub const LONGEST_YIELD: Duration = Duration::from_secs(30);

    /// Resolves once no backlog is being worked through, or after [`Backlog::LONGEST_YIELD`].
    pub async fn cleared(&self) {
        self.cleared_within(Self::LONGEST_YIELD).await;
    }

    /// Resolves once no backlog is being worked through, or after `at_most`.
    pub async fn cleared_within(&self, at_most: Duration) {
        let mut working = self.working.subscribe();
        let _ = tokio::time::timeout(at_most, working.wait_for(|working| !working)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cleared_waits_for_the_backlog_but_no_longer_than_asked() {
        let backlog = Backlog::default();
        tokio::time::timeout(Duration::from_secs(5), backlog.cleared_within(Duration::from_secs(60)))
            .await
            .expect("without a backlog nothing waits");

        backlog.set_working(true);
        let start = std::time::Instant::now();
        backlog.cleared_within(Duration::from_millis(200)).await;
        assert!(start.elapsed() >= Duration::from_millis(200), "a backlog is waited out");

        let waiting = tokio::spawn({
            let backlog = backlog.clone();
            async move { backlog.cleared_within(Duration::from_secs(60)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        backlog.set_working(false);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("clearing the backlog wakes those waiting long before their limit")
            .unwrap();
        assert!(!backlog.is_working());
    }
}
