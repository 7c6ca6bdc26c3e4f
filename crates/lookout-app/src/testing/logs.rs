//! The log lines a test's own thread writes, captured so that the test can read them.

use std::sync::{Arc, Mutex};

use tracing::dispatcher::{DefaultGuard, Dispatch};

/// Captures the log lines (tracing's `fmt` format, no colours) written on this thread while
/// it lives, up to `max` level.
///
/// tracing decides once per log call site, for the whole process, whether the site is wanted,
/// and while a single dispatcher is registered it asks the default of whichever thread reaches
/// the site first (tracing-core 0.1.36 `callsite.rs`, `Rebuilder::JustOne`). A test running
/// beside this one on a thread with no subscriber would then mark the site as never wanted,
/// and this capture would miss its lines. The capture therefore registers a second, inert
/// dispatcher first and holds it for its life: with two registered, every site is asked of
/// all of them, this capture included.
pub struct LogCapture {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
    _pin: Dispatch,
}

impl LogCapture {
    /// Starts capturing this thread's log lines up to `max` (for example `Level::DEBUG`).
    #[must_use]
    pub fn start(max: tracing::Level) -> Self {
        Self::with_format(max, false)
    }

    /// Like [`LogCapture::start`], in the JSON format Lambda's JSON log format gives
    /// (`lambda_http::tracing::init_default_subscriber` with `AWS_LAMBDA_LOG_FORMAT=JSON`):
    /// one object a line, the event's fields under `fields`.
    #[must_use]
    pub fn start_json(max: tracing::Level) -> Self {
        Self::with_format(max, true)
    }

    fn with_format(max: tracing::Level, json: bool) -> Self {
        let pin = Dispatch::new(tracing::subscriber::NoSubscriber::default());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let builder = tracing_subscriber::fmt()
            .with_max_level(max)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()));
        let guard = if json {
            tracing::subscriber::set_default(builder.json().finish())
        } else {
            tracing::subscriber::set_default(builder.finish())
        };
        Self {
            lines,
            _guard: guard,
            _pin: pin,
        }
    }

    /// The lines captured so far, as text (invalid UTF-8 replaced).
    #[must_use]
    pub fn text(&self) -> String {
        let bytes = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// One write into the capture.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::LogCapture;

    fn log_once(n: u32) {
        tracing::info!(n, "the marker line");
    }

    #[test]
    fn a_site_first_reached_on_a_thread_without_a_subscriber_is_still_captured_here() {
        let logs = LogCapture::start(tracing::Level::INFO);
        // Another thread, with no subscriber of its own, reaches the call site first.
        std::thread::spawn(|| log_once(1)).join().unwrap();
        log_once(2);
        let text = logs.text();
        assert!(text.contains("the marker line n=2"), "captured: {text:?}");
        assert!(
            !text.contains("n=1"),
            "the other thread's line is not this capture's"
        );
    }
}
