//! The dispatch seam, in process: a fixture context (a memory store, no apps, no dirs) and
//! requests handed to `dispatch` as the connection would, checking what each kind of reply
//! carries without a socket.

use std::sync::Arc;

use cachemgr_proto::{ErrorKind, PeerIdentity, RequestBody, ResponseBody, SetCondition};
use serde_bytes::ByteBuf;

use super::{dispatch, Reply};
use crate::access::Caller;
use crate::config::Config;
use crate::context::{DaemonContext, DaemonPaths, KeyInfo, Services};
use crate::keys::MasterKey;
use crate::store::Store;

fn context(state_dir: &std::path::Path) -> Arc<DaemonContext> {
    let config = Arc::new(Config::default());
    let store = Store::new(config.clone());
    let master = MasterKey::from_bytes([7; 32]);
    let key = KeyInfo {
        source: "test".into(),
        persistent: false,
        fingerprint: master.fingerprint(),
        dump_root: Arc::new(master.derive(b"", b"test")),
    };
    let services = Services {
        store,
        notices: Vec::new(),
        key,
        autodump: None,
        apps: None,
        dirs: None,
        pressure: crate::pressure::PressureMonitor::new(&config, state_dir.to_path_buf()),
        clear_schedule: None,
    };
    let paths = DaemonPaths {
        socket: state_dir.join("test.sock"),
        config_path: None,
        state_dir: state_dir.to_path_buf(),
    };
    DaemonContext::new(paths, services)
}

fn admin() -> Caller {
    Caller {
        peer: PeerIdentity { uid: 0, gid: 0, pid: 1 },
        name: None,
        groups: vec![0],
        admin: true,
    }
}

async fn now(ctx: &Arc<DaemonContext>, body: RequestBody) -> ResponseBody {
    match dispatch(ctx, &admin(), body).await {
        Reply::Now(body) => body,
        other => panic!("expected an answer now, got {other:?}"),
    }
}

#[tokio::test]
async fn a_set_is_read_back_and_deleted_through_the_one_dispatch() {
    let dir = tempfile::tempdir().expect("dir");
    let ctx = context(dir.path());
    let set = RequestBody::Set {
        ns: "web".into(),
        key: "k".into(),
        value: ByteBuf::from(b"v".to_vec()),
        ttl_ms: None,
        condition: SetCondition::IfAbsent,
    };
    assert_eq!(now(&ctx, set.clone()).await, ResponseBody::Stored { stored: true });
    assert_eq!(now(&ctx, set).await, ResponseBody::Stored { stored: false }, "NX holds");
    let get = RequestBody::Get { ns: "web".into(), key: "k".into() };
    assert_eq!(
        now(&ctx, get.clone()).await,
        ResponseBody::Value { value: Some(ByteBuf::from(b"v".to_vec())) }
    );
    let delete = RequestBody::Delete { ns: "web".into(), keys: vec!["k".into()] };
    assert_eq!(now(&ctx, delete).await, ResponseBody::Count { count: 1, bytes: None });
    assert_eq!(now(&ctx, get).await, ResponseBody::Value { value: None });
}

#[tokio::test]
async fn bad_input_and_missing_services_get_their_error_kinds() {
    let dir = tempfile::tempdir().expect("dir");
    let ctx = context(dir.path());
    let kind = |body: ResponseBody| match body {
        ResponseBody::Error { kind, .. } => kind,
        other => panic!("expected an error, got {other:?}"),
    };
    let bad_ns = RequestBody::Set {
        ns: "bad ns".into(),
        key: "k".into(),
        value: ByteBuf::new(),
        ttl_ms: None,
        condition: SetCondition::Always,
    };
    assert_eq!(kind(now(&ctx, bad_ns).await), ErrorKind::InvalidArgument);
    let long_key = RequestBody::Set {
        ns: "web".into(),
        key: "k".repeat(70_000),
        value: ByteBuf::new(),
        ttl_ms: None,
        condition: SetCondition::Always,
    };
    assert_eq!(kind(now(&ctx, long_key).await), ErrorKind::TooLarge);
    let hello = RequestBody::Hello { protocol: 1, client: "t".into() };
    assert_eq!(kind(now(&ctx, hello).await), ErrorKind::InvalidArgument);
    assert_eq!(kind(now(&ctx, RequestBody::DirList {}).await), ErrorKind::Unavailable);
    assert_eq!(kind(now(&ctx, RequestBody::AppList {}).await), ErrorKind::Unavailable);
    assert_eq!(kind(now(&ctx, RequestBody::ScheduleList {}).await), ErrorKind::Unavailable);
}

#[tokio::test]
async fn app_operations_stream_and_end_with_one_terminal_answer() {
    let dir = tempfile::tempdir().expect("dir");
    let ctx = context(dir.path());
    let body = RequestBody::BackupList { app: "nope".into() };
    let Reply::Stream(mut answers) = dispatch(&ctx, &admin(), body).await else {
        panic!("app operations run in their own task and stream");
    };
    let last = answers.recv().await.expect("a terminal answer");
    assert!(last.is_terminal());
    match last {
        ResponseBody::Error { kind, .. } => {
            assert_eq!(kind, ErrorKind::Unavailable, "apps are off")
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(answers.recv().await.is_none(), "nothing after the terminal answer");
}

#[tokio::test]
async fn subscribe_is_handed_to_the_connection_with_its_arguments() {
    let dir = tempfile::tempdir().expect("dir");
    let ctx = context(dir.path());
    let body = RequestBody::Subscribe {
        ns: Some("web".into()),
        pattern: None,
        kinds: None,
        values: true,
        queue: Some(9),
    };
    match dispatch(&ctx, &admin(), body).await {
        Reply::Subscribe(args) => {
            assert_eq!(args.ns.as_deref(), Some("web"));
            assert!(args.values);
            assert_eq!(args.queue, Some(9));
        }
        other => panic!("expected a subscription, got {other:?}"),
    }
}
