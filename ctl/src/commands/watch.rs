//! `cachectl watch`: subscribe and print each change as it arrives, until interrupted.

use std::path::Path;

use anyhow::Result;
use cachectl::{
    ClientOptions, Event, KeyPattern, Notice, SubscribeOptions, Subscription, CLIENT_NAME,
};
use serde_json::{json, Map, Value};

use super::Outcome;
use crate::cli::WatchArgs;
use crate::output::{print_json, print_text, value_json};
use crate::when::Local;

/// Longest value shown on a text line; the rest is elided.
const SHOWN_VALUE_CHARS: usize = 80;

/// Streams events until interrupted, the reader going away (a closed pipe) or the daemon
/// stopping.
pub async fn run(socket: &Path, args: WatchArgs, json: bool) -> Result<Outcome> {
    let pattern = args.pattern.map(|text| match args.regex {
        true => KeyPattern::regex(text),
        false => KeyPattern::glob(text),
    });
    let what = SubscribeOptions {
        ns: args.ns,
        pattern,
        kinds: (!args.kinds.is_empty()).then_some(args.kinds),
        values: args.values,
        queue: args.queue,
    };
    let mut subscription =
        Subscription::open(socket, &ClientOptions::new(CLIENT_NAME), what).await?;
    let local = Local::current();
    loop {
        // Ctrl-C ends the process the usual way (SIGINT's default action): nothing to undo.
        match subscription.next().await? {
            None => {
                eprintln!("cachemgrd closed the stream (it is stopping)");
                return Ok(Outcome::Success);
            }
            Some(Notice::Event(event)) if json => print_json(&event_json(&event))?,
            Some(Notice::Event(event)) => print_text(&format!("{}\n", event_line(&event, &local)))?,
            Some(Notice::Missed(count)) if json => print_json(&json!({ "missed": count }))?,
            Some(Notice::Missed(count)) => {
                eprintln!("missed {count} events: this watcher read too slowly (see --queue)")
            }
        }
    }
}

/// `2026-11-21 16:40:00.123 set web greeting` plus the details the event has.
fn event_line(event: &Event, local: &Local) -> String {
    let mut line = format!("{} {}", local.millis(event.at_ms), event.kind.as_str());
    for part in [&event.ns, &event.key, &event.app].into_iter().flatten() {
        line.push(' ');
        line.push_str(part);
    }
    if let Some(pattern) = &event.pattern {
        line.push_str(&format!(" pattern={pattern}"));
    }
    if let Some(count) = event.count {
        line.push_str(&format!(" count={count}"));
    }
    if let Some(value) = &event.value {
        let text = String::from_utf8_lossy(value);
        let mut shown: String = text.chars().take(SHOWN_VALUE_CHARS).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        line.push_str(&format!(" value={shown:?}"));
    }
    if let Some(message) = &event.message {
        line.push_str(&format!(" ({message})"));
    }
    line
}

/// The event as one JSON object; a value is a string when UTF-8, else `{"base64": ...}`.
fn event_json(event: &Event) -> Value {
    let mut object = Map::new();
    object.insert("seq".into(), json!(event.seq));
    object.insert("at_ms".into(), json!(event.at_ms));
    object.insert("kind".into(), json!(event.kind.as_str()));
    let texts = [
        ("ns", &event.ns),
        ("key", &event.key),
        ("pattern", &event.pattern),
        ("app", &event.app),
        ("message", &event.message),
    ];
    for (name, text) in texts {
        if let Some(text) = text {
            object.insert(name.into(), json!(text));
        }
    }
    if let Some(count) = event.count {
        object.insert("count".into(), json!(count));
    }
    if let Some(value) = &event.value {
        object.insert("value".into(), value_json(value));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use cachectl::EventKind;

    use super::*;

    fn set_event() -> Event {
        let mut event = Event::new(EventKind::Set);
        event.seq = 7;
        event.at_ms = 1_700_000_000_123;
        event.ns = Some("web".into());
        event.key = Some("greeting".into());
        event.value = Some(serde_bytes::ByteBuf::from(b"hi \xff".to_vec()));
        event
    }

    #[test]
    fn json_keeps_every_field_and_binary_values() {
        let value = event_json(&set_event());
        assert_eq!(value["seq"], 7);
        assert_eq!(value["kind"], "set");
        assert_eq!(value["ns"], "web");
        assert_eq!(value["key"], "greeting");
        assert_eq!(value["value"]["base64"], "aGkg/w==");
        assert!(value.get("count").is_none());
    }

    #[test]
    fn a_line_names_kind_namespace_key_and_details() {
        let local = Local::fixed_utc();
        let line = event_line(&set_event(), &local);
        assert_eq!(line, "2023-11-14 22:13:20.123 set web greeting value=\"hi \u{fffd}\"");
        let mut clear = Event::new(EventKind::Clear);
        clear.ns = Some("web".into());
        clear.count = Some(3);
        clear.at_ms = 1_700_000_000_000;
        assert!(event_line(&clear, &local).ends_with("clear web count=3"));
    }
}
