//! A subscribed connection: after `subscribe` it carries change events until the client
//! closes it or the daemon stops.
//!
//! One task both writes events and reads the client's frames, so a client going away is
//! noticed even while no event comes. While a write waits on a client that does not read,
//! its queue in the hub fills and further events are dropped and counted for it alone.

use cachemgr_proto::{ErrorKind, EventKind, Response, ResponseBody};
use futures_util::{SinkExt, StreamExt};

use super::connection::Conn;
use crate::access::visibility::CallerVisibility;
use crate::access::Caller;
use crate::context::DaemonContext;
use crate::events::{Delivery, EventFilter, Subscription};
use crate::handlers::{error, SubscribeArgs};
use crate::pattern::KeyMatcher;

/// Registers the subscription, or says why not.
pub fn start(
    state: &DaemonContext,
    caller: &Caller,
    args: SubscribeArgs,
) -> Result<Subscription, ResponseBody> {
    let matcher = match &args.pattern {
        Some(pattern) => Some(
            KeyMatcher::compile(Some(pattern))
                .map_err(|err| error(ErrorKind::InvalidArgument, err.to_string()))?,
        ),
        None => None,
    };
    if args.kinds.as_ref().is_some_and(|kinds| kinds.contains(&EventKind::Unknown)) {
        let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        let message = format!(
            "kinds names an event kind this daemon does not know; it knows {}",
            known.join(", ")
        );
        return Err(error(ErrorKind::InvalidArgument, message));
    }
    let most = state.config().subscriber_queue;
    let queue = match args.queue {
        Some(0) => {
            return Err(error(ErrorKind::InvalidArgument, "queue must be at least 1 event"));
        }
        Some(asked) => (asked as usize).min(most),
        None => most,
    };
    let filter = EventFilter { ns: args.ns, matcher, kinds: args.kinds };
    let visibility = Box::new(CallerVisibility::new(caller.clone(), &state.store));
    Ok(state.store.events().subscribe(filter, visibility, args.values, queue))
}

/// Streams events under `id` until the client leaves or the daemon stops.
pub async fn stream(
    conn: &mut Conn,
    id: u64,
    mut subscription: Subscription,
    state: &DaemonContext,
) {
    let granted = u32::try_from(subscription.queue()).unwrap_or(u32::MAX);
    if conn.send(Response { id, body: ResponseBody::Subscribed { queue: granted } }).await.is_err()
    {
        return;
    }
    tracing::debug!(queue = granted, "subscriber attached");
    loop {
        tokio::select! {
            biased;
            _ = state.shutdown.cancelled() => return,
            frame = conn.next() => match frame {
                Some(Ok(Ok(request))) => {
                    let refusal = error(
                        ErrorKind::InvalidArgument,
                        format!("this connection is an event stream since its subscribe; open another connection for {}", request.body.name()),
                    );
                    if conn.send(Response { id: request.id, body: refusal }).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Err(err))) => {
                    let answer = Response::error(err.reply_id(), ErrorKind::Malformed, err.to_string());
                    if conn.send(answer).await.is_err() {
                        return;
                    }
                }
                Some(Err(_)) | None => return,
            },
            delivery = subscription.next() => {
                let Some(delivery) = delivery else { return };
                if deliver(conn, id, delivery, &mut subscription).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Events written per flush when many are queued.
const BATCH: usize = 256;

/// Writes the event (after a `missed` notice when events were dropped before it) and what
/// else is queued, up to [`BATCH`]; once the queue is empty, any drops after the last one.
async fn deliver(
    conn: &mut Conn,
    id: u64,
    first: Delivery,
    subscription: &mut Subscription,
) -> Result<(), cachemgr_proto::CodecError> {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(delivery) = next.take() {
        if delivery.missed_before > 0 {
            let notice = ResponseBody::Missed { count: delivery.missed_before };
            conn.feed(Response { id, body: notice }).await?;
        }
        let mut event = delivery.published.event.clone();
        if !subscription.wants_values() {
            event.value = None;
        }
        conn.feed(Response { id, body: ResponseBody::Event { event: Box::new(event) } }).await?;
        written += 1;
        if written < BATCH {
            next = subscription.try_next();
        }
    }
    let missed = subscription.take_missed_if_drained();
    if missed > 0 {
        conn.feed(Response { id, body: ResponseBody::Missed { count: missed } }).await?;
    }
    SinkExt::<Response>::flush(conn).await
}
