//! Forwards the core's `tracing` events to Python's `logging`, under the `safe_tracker` logger,
//! at matching levels (ERROR 40, WARN 30, INFO 20, DEBUG 10, TRACE 5), with the fields of the
//! enclosing spans (method, templated path, attempt, status, duration). The token is never a
//! field of any event or span.

use std::fmt::{Debug, Write};
use std::sync::Once;
use std::sync::atomic::Ordering;

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }
}

struct PythonLogging;

fn python_level(level: &Level) -> i32 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for PythonLogging {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(f);
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(f) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(f);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = python_level(meta.level());
        if level < crate::LOG_LEVEL.load(Ordering::Relaxed)
            || !meta.target().starts_with("safe_tracker")
        {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let mut text = if f.message.is_empty() {
            meta.name().to_string()
        } else {
            f.message
        };
        text.push_str(&f.rest);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(sf) = span.extensions().get::<Fields>() {
                    let _ = write!(text, " [{}{}]", span.name(), sf.rest);
                }
            }
        }
        // try_attach: a worker thread may log while the interpreter shuts down.
        Python::try_attach(|py| {
            let logged = py
                .import("logging")
                .and_then(|l| l.call_method1("getLogger", ("safe_tracker",)))
                .and_then(|logger| logger.call_method1("log", (level, text)));
            if let Err(e) = logged {
                e.print(py);
            }
        });
    }
}

/// Installs the forwarding subscriber once per process (ignored when the host already set one).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::registry()
            .with(PythonLogging)
            .try_init();
    });
}
