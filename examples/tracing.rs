//! `tracing` and `log` on greenlets: three request handlers share one OS
//! thread, each inside its own span (`#[instrument]`), and block in turn;
//! every line is filed under the span of the greenlet that wrote it and
//! begins with that greenlet's name.
//!
//! `cargo run --example tracing --features tracing`
//!
//! The threads and sleeps are std's, made green by `#[green::main]`;
//! `green::tracing` is the subscriber wrapper and the greenlet's name.

use std::thread;
use std::time::Duration;

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;

#[green::main]
fn main() {
    // ANCHOR: install
    // The whole subscriber (registry and layers) goes inside `Greenlets`,
    // installed as the global default.
    let subscriber = green::tracing::Greenlets::new(
        tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                // A line when a span closes, with its busy and idle time.
                .with_span_events(FmtSpan::CLOSE)
                // Lines begin with the greenlet, not the hub's OS thread.
                .event_format(green::tracing::WithGreenlet::new(
                    tracing_subscriber::fmt::format(),
                )),
        ),
    );
    tracing::subscriber::set_global_default(subscriber).expect("no subscriber yet");
    // ANCHOR_END: install

    // ANCHOR: spans
    let handlers: Vec<_> = (1..=3)
        .map(|request| {
            thread::Builder::new()
                .name(format!("handler-{request}"))
                .spawn(move || handle(request))
                .unwrap()
        })
        .collect();
    for h in handlers {
        h.join().unwrap();
    }
    // ANCHOR_END: spans

    // ANCHOR: log
    log::set_logger(&GreenletLogger).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let workers: Vec<_> = ["log-a", "log-b"]
        .into_iter()
        .map(|name| {
            thread::Builder::new()
                .name(name.into())
                .spawn(|| {
                    log::info!("a log record");
                    thread::sleep(Duration::from_millis(1));
                    log::info!("another, after a switch");
                })
                .unwrap()
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    // ANCHOR_END: log
}

// ANCHOR: handler
/// A handler that blocks: while it sleeps the other handlers run, and its
/// span is switched out with it (idle time, not busy time).
#[tracing::instrument]
fn handle(request: u32) {
    tracing::info!("reading the request");
    thread::sleep(Duration::from_millis(10 * u64::from(request)));
    tracing::info!(bytes = 512 * request, "answered");
}
// ANCHOR_END: handler

// ANCHOR: logger
/// A `log` logger that names the greenlet, as a std-style one names the
/// thread; the same line in an env_logger `format` closure works as well.
struct GreenletLogger;

impl log::Log for GreenletLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        eprintln!(
            "{} {:<5} {}: {}",
            green::tracing::current_greenlet(),
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}
// ANCHOR_END: logger
