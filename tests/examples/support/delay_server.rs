//! The benchmarks' delay server: a loopback HTTP server answering every request `200 ok` after
//! [`DELAY_MS`], run in a process of its own so that its work is not counted.

use std::time::Duration;

use lookout_app::testing::{Reply, TestServer};

/// Each answer's delay, ms.
pub const DELAY_MS: u64 = 200;

/// Serves until stdin closes (the part script holds it open), at most 15 minutes; prints the
/// server's URL first.
pub async fn serve() {
    let server = TestServer::start(|_| {
        Reply::Delay(
            Duration::from_millis(DELAY_MS),
            Box::new(Reply::text(200, "ok")),
        )
    })
    .await;
    println!("{}", server.url);
    let stdin = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    });
    let _ = tokio::time::timeout(Duration::from_secs(900), stdin).await;
}
