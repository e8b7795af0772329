//! green::tracing: spans follow their greenlet across switches; log lines
//! name the greenlet.
//!
//! Each test installs its subscriber with `with_default` on the test's
//! thread, whose hub runs every greenlet the test spawns (one hub), except
//! the two-hub test, which needs the global default (worker threads do not
//! see a thread's default) and tells its events apart by their span names.
#![cfg(feature = "tracing")]

use std::fmt::Write as _;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use green::sync::mpsc;
use green::thread;
use green::tracing::{Greenlets, WithGreenlet, current_greenlet};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Span, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One event as the capture layer saw it.
#[derive(Debug, Clone)]
struct Line {
    /// The event's `who` field.
    who: u64,
    /// Its message.
    message: String,
    /// Its spans, outermost first, as `name{fields}`.
    spans: Vec<String>,
    /// The OS thread it was emitted on.
    os_thread: std::thread::ThreadId,
}

/// A layer that records every event with its span scope, and the spans
/// that close.
#[derive(Clone, Default)]
struct Capture {
    lines: Arc<Mutex<Vec<Line>>>,
    closed: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    fn lines(&self) -> Vec<Line> {
        self.lines.lock().unwrap().clone()
    }

    fn closed(&self) -> Vec<String> {
        self.closed.lock().unwrap().clone()
    }
}

/// The span's `name{fields}`, kept in its extensions.
struct Label(String);

#[derive(Default)]
struct Fields {
    who: Option<u64>,
    message: String,
    text: String,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "who" {
            self.who = Some(value);
        }
        self.record_debug(field, &value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "who" {
            self.who = u64::try_from(value).ok();
        }
        self.record_debug(field, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            if !self.text.is_empty() {
                self.text.push(' ');
            }
            write!(self.text, "{}={value:?}", field.name()).unwrap();
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        let span = ctx.span(id).expect("new span");
        let label = format!("{}{{{}}}", span.name(), f.text);
        span.extensions_mut().insert(Label(label));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .from_root()
                    .map(|s| s.extensions().get::<Label>().expect("label").0.clone())
                    .collect()
            })
            .unwrap_or_default();
        self.lines.lock().unwrap().push(Line {
            who: f.who.expect("every event here has a `who`"),
            message: f.message,
            spans,
            os_thread: std::thread::current().id(),
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).expect("closing span");
        let label = span.extensions().get::<Label>().expect("label").0.clone();
        self.closed.lock().unwrap().push(label);
    }
}

/// `Registry` + `Capture`, wrapped in `Greenlets`.
fn wrapped() -> (Greenlets<impl Subscriber + Send + Sync>, Capture) {
    let capture = Capture::default();
    (
        Greenlets::new(Registry::default().with(capture.clone())),
        capture,
    )
}

/// Two greenlets, each in its own span, that take turns through channels:
/// `a` enters its span and waits; `b` enters its own, logs, and hands back;
/// `a` logs and hands over; `b` logs again.
fn two_in_turn() {
    let (to_b, from_a) = mpsc::channel::<()>();
    let (to_a, from_b) = mpsc::channel::<()>();
    let a = thread::spawn(move || {
        let span = tracing::info_span!("job", who = 1);
        let _in = span.enter();
        to_b.send(()).unwrap();
        from_b.recv().unwrap();
        tracing::info!(who = 1, "a in its span");
        to_b.send(()).unwrap();
    });
    let b = thread::spawn(move || {
        from_a.recv().unwrap();
        let span = tracing::info_span!("job", who = 2);
        let _in = span.enter();
        tracing::info!(who = 2, "b in its span");
        to_a.send(()).unwrap();
        from_a.recv().unwrap();
        tracing::info!(who = 2, "b again");
    });
    a.join().unwrap();
    b.join().unwrap();
}

/// Every line is in exactly the span of its own greenlet.
fn assert_own_span(lines: &[Line], name: &str) {
    assert!(!lines.is_empty());
    for line in lines {
        assert_eq!(
            line.spans,
            [format!("{name}{{who={}}}", line.who)],
            "{line:?}"
        );
    }
}

#[test]
fn a_plain_registry_files_events_under_another_greenlets_span() {
    // The problem: the Registry's span stack is per OS thread.
    let capture = Capture::default();
    let subscriber = Registry::default().with(capture.clone());
    tracing::subscriber::with_default(subscriber, two_in_turn);
    let lines = capture.lines();
    let a = lines.iter().find(|l| l.who == 1).unwrap();
    let b = lines.iter().find(|l| l.who == 2).unwrap();
    // b's span was made while a's was entered: it became its child.
    assert_eq!(b.spans, ["job{who=1}", "job{who=2}"]);
    // a logs while b's span is on top of the thread's stack.
    assert_eq!(a.spans, ["job{who=1}", "job{who=2}"]);
}

#[test]
fn greenlets_files_each_event_under_its_own_greenlets_span() {
    let (subscriber, capture) = wrapped();
    tracing::subscriber::with_default(subscriber, two_in_turn);
    let lines = capture.lines();
    assert_eq!(lines.len(), 3);
    assert_own_span(&lines, "job");
    assert_eq!(
        lines.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
        ["b in its span", "a in its span", "b again"]
    );
    assert_eq!(capture.closed().len(), 2);
}

#[test]
fn many_greenlets_interleaving_keep_their_spans() {
    let (subscriber, capture) = wrapped();
    tracing::subscriber::with_default(subscriber, || {
        let root = tracing::info_span!("root", who = 0);
        let _root = root.enter();
        let (tx, rx) = mpsc::channel::<u64>();
        let handles: Vec<_> = (1..=100u64)
            .map(|who| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let span = tracing::info_span!("worker", who);
                    let _in = span.enter();
                    for round in 0..5 {
                        tracing::info!(who, round, "working");
                        match (who + round) % 3 {
                            0 => thread::yield_now(),
                            1 => thread::sleep(Duration::from_millis(who % 7)),
                            _ => tx.send(who).unwrap(),
                        }
                        assert_eq!(Span::current().metadata().map(|m| m.name()), Some("worker"));
                    }
                })
            })
            .collect();
        drop(tx);
        // The root context takes its turns too, inside its own span.
        for who in rx {
            assert!(who >= 1);
            tracing::info!(who = 0, "root saw a message");
        }
        for h in handles {
            h.join().unwrap();
        }
    });
    let lines = capture.lines();
    assert_eq!(lines.iter().filter(|l| l.who != 0).count(), 500);
    for line in &lines {
        let name = if line.who == 0 { "root" } else { "worker" };
        assert_eq!(line.spans, [format!("{name}{{who={}}}", line.who)]);
    }
}

#[test]
fn nested_spans_and_contextual_parents_follow_the_greenlet() {
    let (subscriber, capture) = wrapped();
    tracing::subscriber::with_default(subscriber, || {
        let handles: Vec<_> = (1..=2u64)
            .map(|who| {
                thread::spawn(move || {
                    let outer = tracing::info_span!("outer", who);
                    let _o = outer.enter();
                    thread::yield_now();
                    // Made after a switch: its parent is this greenlet's.
                    let inner = tracing::info_span!("inner", who);
                    inner.in_scope(|| {
                        thread::sleep(Duration::from_millis(1));
                        tracing::info!(who, "in inner");
                        thread::yield_now();
                    });
                    thread::yield_now();
                    tracing::info!(who, "back in outer");
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    let lines = capture.lines();
    assert_eq!(lines.len(), 4);
    for line in lines {
        let outer = format!("outer{{who={}}}", line.who);
        let inner = format!("inner{{who={}}}", line.who);
        match line.message.as_str() {
            "in inner" => assert_eq!(line.spans, [outer, inner]),
            "back in outer" => assert_eq!(line.spans, [outer]),
            m => panic!("unexpected {m}"),
        }
    }
}

#[tracing::instrument]
fn handle(who: u64) -> u64 {
    tracing::info!(who, "start");
    thread::sleep(Duration::from_millis(2));
    thread::yield_now();
    tracing::info!(who, "done");
    who
}

#[test]
fn instrument_on_a_function_that_blocks() {
    let (subscriber, capture) = wrapped();
    tracing::subscriber::with_default(subscriber, || {
        let handles: Vec<_> = (1..=20u64)
            .map(|who| thread::spawn(move || handle(who)))
            .collect();
        for (who, h) in (1..).zip(handles) {
            assert_eq!(h.join().unwrap(), who);
        }
    });
    let lines = capture.lines();
    assert_eq!(lines.len(), 40);
    assert_own_span(&lines, "handle");
}

#[test]
fn a_span_closed_on_another_greenlet() {
    let (subscriber, capture) = wrapped();
    tracing::subscriber::with_default(subscriber, || {
        let (tx, rx) = mpsc::channel::<Span>();
        let (go, wait) = mpsc::channel::<()>();
        let a = thread::spawn(move || {
            let span = tracing::info_span!("handed", who = 1);
            span.in_scope(|| {
                tracing::info!(who = 1, "a in handed");
                wait.recv().unwrap();
            });
            tx.send(span).unwrap();
            tracing::info!(who = 1, "a after");
        });
        let b = thread::spawn(move || {
            let own = tracing::info_span!("own", who = 2);
            let _in = own.enter();
            go.send(()).unwrap();
            let span = rx.recv().unwrap();
            tracing::info!(who = 2, "b holds handed");
            // The last handle: the span closes here, on b.
            drop(span);
            thread::yield_now();
            tracing::info!(who = 2, "b after the close");
        });
        a.join().unwrap();
        b.join().unwrap();
    });
    let lines = capture.lines();
    let spans = |m: &str| {
        lines
            .iter()
            .find(|l| l.message == m)
            .unwrap_or_else(|| panic!("no {m}"))
            .spans
            .clone()
    };
    assert_eq!(spans("a in handed"), ["handed{who=1}"]);
    assert!(spans("a after").is_empty());
    assert_eq!(spans("b holds handed"), ["own{who=2}"]);
    assert_eq!(spans("b after the close"), ["own{who=2}"]);
    assert_eq!(capture.closed(), ["handed{who=1}", "own{who=2}"]);
}

#[test]
fn a_killed_greenlet_leaves_no_span_entered() {
    let (subscriber, capture) = wrapped();
    tracing::subscriber::with_default(subscriber, || {
        let (ready, wait) = mpsc::channel::<()>();
        let (later, after_kill) = mpsc::channel::<()>();
        let victim = thread::spawn(move || {
            let span = tracing::info_span!("doomed", who = 1);
            let _in = span.enter();
            tracing::info!(who = 1, "about to sleep");
            ready.send(()).unwrap();
            thread::sleep(Duration::from_secs(3600));
        });
        // In its own span across the kill: the victim's spans are switched
        // out when it logs, and in again when the victim unwinds.
        let bystander = thread::spawn(move || {
            let span = tracing::info_span!("bystander", who = 2);
            let _in = span.enter();
            tracing::info!(who = 2, "before the kill");
            after_kill.recv().unwrap();
            tracing::info!(who = 2, "after the kill");
        });
        wait.recv().unwrap();
        victim.kill();
        assert!(thread::is_greenlet_exit(&*victim.join().unwrap_err()));
        later.send(()).unwrap();
        bystander.join().unwrap();
        tracing::info!(who = 0, "root after the kill");
        assert!(Span::current().is_none());
        let other = thread::spawn(|| {
            tracing::info!(who = 3, "another greenlet");
            Span::current().is_none()
        });
        assert!(other.join().unwrap());
    });
    let lines = capture.lines();
    let spans = |who| {
        lines
            .iter()
            .filter(|l| l.who == who)
            .map(|l| l.spans.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(spans(1), [["doomed{who=1}"]]);
    assert_eq!(spans(2), [["bystander{who=2}"], ["bystander{who=2}"]]);
    assert_eq!(spans(0), [Vec::<String>::new()]);
    assert_eq!(spans(3), [Vec::<String>::new()]);
    assert_eq!(capture.closed(), ["doomed{who=1}", "bystander{who=2}"]);
}

#[test]
fn a_greenlet_that_ends_inside_a_span_does_not_leave_it_to_others() {
    let (subscriber, capture) = wrapped();
    tracing::subscriber::with_default(subscriber, || {
        let leaky = thread::spawn(|| {
            // The guard is never dropped and the span never closes.
            std::mem::forget(tracing::info_span!("forgotten", who = 1).entered());
            tracing::info!(who = 1, "inside");
        });
        leaky.join().unwrap();
        tracing::info!(who = 0, "root after");
        thread::spawn(|| tracing::info!(who = 2, "another greenlet"))
            .join()
            .unwrap();
    });
    let lines = capture.lines();
    assert_eq!(lines[0].spans, ["forgotten{who=1}"]);
    assert!(lines[1..].iter().all(|l| l.spans.is_empty()), "{lines:?}");
}

/// The global default for the two-hub test (its worker threads do not see
/// a scoped default).
fn global_capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let (subscriber, capture) = wrapped();
        tracing::subscriber::set_global_default(subscriber).expect("first global default");
        capture
    })
}

#[test]
fn greenlets_on_two_hubs_keep_their_spans() {
    let capture = global_capture();
    green::runtime::Builder::new().workers(2).run(|| {
        let handles: Vec<_> = (1..=40u64)
            .map(|who| {
                thread::spawn(move || {
                    let span = tracing::info_span!("two_hubs", who);
                    let _in = span.enter();
                    for round in 0..4u64 {
                        tracing::info!(who, round, "on a hub");
                        if (who + round) % 2 == 0 {
                            thread::yield_now();
                        } else {
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    let lines: Vec<Line> = capture
        .lines()
        .into_iter()
        .filter(|l| l.spans.iter().any(|s| s.starts_with("two_hubs")))
        .collect();
    assert_eq!(lines.len(), 160);
    assert_own_span(&lines, "two_hubs");
    let mut threads: Vec<_> = lines.iter().map(|l| l.os_thread).collect();
    threads.sort_by_key(|t| format!("{t:?}"));
    threads.dedup();
    assert_eq!(threads.len(), 2, "the greenlets ran on both hubs");
}

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Spawns greenlets `alpha` and `beta` that log in turn.
fn alpha_and_beta(log: fn(&str)) {
    let handles: Vec<_> = ["alpha", "beta"]
        .into_iter()
        .map(|name| {
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    for _ in 0..3 {
                        log(name);
                        thread::yield_now();
                    }
                    thread::current().id().as_u64().get()
                })
                .unwrap()
        })
        .collect();
    let ids: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn fmt_lines_name_the_greenlet() {
    let out = Buffer::default();
    let writer = out.clone();
    let subscriber = Greenlets::new(
        Registry::default().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .event_format(WithGreenlet::new(
                    tracing_subscriber::fmt::format().without_time(),
                ))
                .with_writer(move || writer.clone()),
        ),
    );
    tracing::subscriber::with_default(subscriber, || {
        alpha_and_beta(|name| {
            let span = tracing::info_span!("req", name);
            let _in = span.enter();
            thread::yield_now();
            tracing::info!("hello from {name}");
        });
        tracing::info!("hello from the root");
    });
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    let root = format!("{}#", std::thread::current().name().unwrap());
    for line in lines {
        let (who, rest) = line.split_once(' ').unwrap();
        let (name, id) = who.split_once('#').unwrap();
        assert!(id.parse::<u64>().is_ok(), "{line}");
        if who.starts_with(&root) {
            assert!(rest.ends_with("hello from the root"), "{line}");
        } else {
            assert!(rest.ends_with(&format!("hello from {name}")), "{line}");
            assert!(rest.contains(&format!("req{{name=\"{name}\"}}")), "{line}");
            assert_eq!(rest.matches("req{").count(), 1, "{line}");
        }
    }
}

/// A `log` logger that writes `greenlet level message`, as a format
/// closure of env_logger or fern would.
struct GreenletLogger(Buffer);

impl log::Log for GreenletLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        use io::Write as _;
        let mut out = self.0.clone();
        writeln!(
            out,
            "{} {} {}",
            current_greenlet(),
            record.level(),
            record.args()
        )
        .unwrap();
    }

    fn flush(&self) {}
}

fn log_buffer() -> &'static Buffer {
    static OUT: OnceLock<Buffer> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = Buffer::default();
        log::set_boxed_logger(Box::new(GreenletLogger(out.clone()))).unwrap();
        log::set_max_level(log::LevelFilter::Info);
        out
    })
}

#[test]
fn log_lines_name_the_greenlet() {
    let out = log_buffer();
    alpha_and_beta(|name| log::info!("log from {name}"));
    let text = out.text();
    let mut seen = 0;
    for line in text.lines().filter(|l| l.contains("log from")) {
        let (who, rest) = line.split_once(' ').unwrap();
        let (name, _) = who.split_once('#').unwrap();
        assert_eq!(rest, format!("INFO log from {name}"));
        seen += 1;
    }
    assert_eq!(seen, 6, "{text}");
}

#[test]
fn current_greenlet_on_a_thread_without_a_hub_is_the_os_thread() {
    let got = std::thread::Builder::new()
        .name("plain".into())
        .spawn(current_greenlet)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(got.name(), Some("plain"));
    assert_eq!(got.id(), None);
    assert_eq!(got.to_string(), "plain");
    let unnamed = thread::spawn(current_greenlet).join().unwrap();
    assert_eq!(unnamed.name(), None);
    assert!(unnamed.to_string().starts_with("<unnamed>#"));
}
