//! Scheduler tests on tokio's paused time: the wall clock is derived from tokio's clock so that
//! sleeping and "now" move together.

use std::sync::Mutex as StdMutex;

use super::*;
use crate::dump::{self, DumpRecord, DumpWriter};

const T0: u64 = 1_700_000_000_000;
const MIN: u64 = 60_000;

/// Wall clock = `origin_ms` + time elapsed on tokio's (paused) clock.
struct TokioClock {
    origin: tokio::time::Instant,
    origin_ms: u64,
}

impl WallClock for TokioClock {
    fn now_unix_ms(&self) -> u64 {
        self.origin_ms + self.origin.elapsed().as_millis() as u64
    }
}

fn clock() -> Arc<TokioClock> {
    Arc::new(TokioClock { origin: tokio::time::Instant::now(), origin_ms: T0 })
}

fn settings(dir: &Path, file: &str, every: Duration) -> AutodumpSettings {
    AutodumpSettings { path: dir.join(file), every, ns: None, pattern: None, owner_uid: None }
}

/// The paths and wall-clock times of the dumps the fake was asked for.
type Calls = Arc<StdMutex<Vec<(PathBuf, u64)>>>;

/// Spawns the run loop with a dump that records its call and succeeds (or fails, per `fail`).
fn spawn_fake(
    autodump: &Arc<Autodump>,
    clock: Arc<TokioClock>,
    fail: bool,
) -> (Calls, CancellationToken, tokio::task::JoinHandle<()>) {
    let calls: Calls = Arc::default();
    let token = CancellationToken::new();
    let seen = calls.clone();
    let dump = move |s: AutodumpSettings| {
        seen.lock().unwrap().push((s.path.clone(), clock.now_unix_ms()));
        async move {
            if fail {
                Err("disk full".to_string())
            } else {
                Ok(DumpSummary { entries: 3, bytes: 100, namespaces: vec!["a".into()] })
            }
        }
    };
    let task = tokio::spawn(autodump.clone().run(dump, token.clone()));
    (calls, token, task)
}

fn times(calls: &Calls) -> Vec<u64> {
    calls.lock().unwrap().iter().map(|(_, t)| t - T0).collect()
}

async fn sleep_min(minutes: u64) {
    tokio::time::sleep(Duration::from_millis(minutes * MIN)).await;
}

#[tokio::test(start_paused = true)]
async fn first_run_is_every_after_start_then_every_after_each_run() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let autodump = Autodump::load_with_clock(dir.path(), clock.clone()).unwrap();
    let status = autodump.start(settings(dir.path(), "c.dump", Duration::from_secs(600))).unwrap();
    assert_eq!(status.next_run_unix_ms, Some(T0 + 10 * MIN));
    let (calls, token, task) = spawn_fake(&autodump, clock, false);
    sleep_min(35).await;
    assert_eq!(times(&calls), [10 * MIN, 20 * MIN, 30 * MIN]);
    let status = autodump.status();
    assert_eq!(status.last_run_unix_ms, Some(T0 + 30 * MIN));
    assert_eq!(status.last_ok_unix_ms, Some(T0 + 30 * MIN));
    assert_eq!(status.next_run_unix_ms, Some(T0 + 40 * MIN));
    assert!(status.last_result.unwrap().starts_with("ok: 3 entries in 1 namespaces"));
    token.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn change_takes_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let autodump = Autodump::load_with_clock(dir.path(), clock.clone()).unwrap();
    autodump.start(settings(dir.path(), "a.dump", Duration::from_secs(3600))).unwrap();
    let (calls, token, task) = spawn_fake(&autodump, clock, false);
    sleep_min(5).await;
    // The loop sleeps towards T0+60m; the new interval counts from the start: due at T0+10m.
    let status = autodump.change(Some(Duration::from_secs(600)), None, 0).unwrap();
    assert_eq!(status.next_run_unix_ms, Some(T0 + 10 * MIN));
    sleep_min(6).await;
    assert_eq!(times(&calls), [10 * MIN]);
    autodump.change(None, Some(dir.path().join("b.dump")), 0).unwrap();
    sleep_min(10).await;
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls[0].0, dir.path().join("a.dump"));
    assert_eq!(calls[1], (dir.path().join("b.dump"), T0 + 20 * MIN));
    // A shorter interval whose due time has passed runs promptly.
    sleep_min(5).await;
    autodump.change(Some(Duration::from_secs(60)), None, 0).unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(autodump.status().last_run_unix_ms, Some(T0 + 26 * MIN));
    token.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stop_stops_and_keeps_history() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let autodump = Autodump::load_with_clock(dir.path(), clock.clone()).unwrap();
    autodump.start(settings(dir.path(), "c.dump", Duration::from_secs(600))).unwrap();
    let (calls, token, task) = spawn_fake(&autodump, clock, false);
    sleep_min(15).await;
    let status = autodump.stop().unwrap();
    assert_eq!(status.settings, None);
    assert_eq!(status.next_run_unix_ms, None);
    assert_eq!(status.last_run_unix_ms, Some(T0 + 10 * MIN));
    sleep_min(120).await;
    assert_eq!(times(&calls), [10 * MIN]);
    assert_eq!(autodump.stop().unwrap(), status, "stopping twice is harmless");
    assert!(matches!(
        autodump.change(Some(Duration::from_secs(5)), None, 0),
        Err(AutodumpError::NotStarted)
    ));
    // Started again: first run `every` after the new start.
    autodump.start(settings(dir.path(), "c.dump", Duration::from_secs(60))).unwrap();
    sleep_min(1).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(times(&calls), [10 * MIN, 136 * MIN]);
    token.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn failing_dump_is_recorded_and_does_not_clobber_the_last_good_dump() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let autodump = Autodump::load_with_clock(dir.path(), clock.clone()).unwrap();
    autodump.start(settings(dir.path(), "c.dump", Duration::from_secs(60))).unwrap();
    let key = [9u8; 32];
    let runs = Arc::new(StdMutex::new(0u32));
    let dump = move |s: AutodumpSettings| {
        let runs = runs.clone();
        async move {
            let run = {
                let mut runs = runs.lock().unwrap();
                *runs += 1;
                *runs
            };
            let mut writer = DumpWriter::create(&s.path, &key).map_err(|e| e.to_string())?;
            let value = format!("run {run}").into_bytes();
            let rec =
                DumpRecord { ns: "n".into(), key: "k".into(), value, expires_at_unix_ms: None };
            writer.write(&rec).map_err(|e| e.to_string())?;
            if run >= 2 {
                // Fails half-way: the writer is dropped unfinished.
                return Err("store went away mid-dump".to_string());
            }
            writer.finish().map_err(|e| e.to_string())
        }
    };
    let token = CancellationToken::new();
    let task = tokio::spawn(autodump.clone().run(dump, token.clone()));
    sleep_min(2).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let status = autodump.status();
    assert_eq!(status.last_run_unix_ms, Some(T0 + 2 * MIN));
    assert_eq!(status.last_ok_unix_ms, Some(T0 + MIN));
    assert_eq!(status.last_result.as_deref(), Some("failed: store went away mid-dump"));
    let path = dir.path().join("c.dump");
    let records: Vec<DumpRecord> =
        dump::DumpReader::open(&path, &key).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(records[0].value, b"run 1");
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 2, "c.dump and autodump.json only");
    token.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn settings_and_history_survive_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let autodump = Autodump::load_with_clock(dir.path(), clock.clone()).unwrap();
    let mut wanted = settings(dir.path(), "c.dump", Duration::from_secs(600));
    wanted.ns = Some("sessions".into());
    wanted.pattern = Some(KeyPattern::glob("user:*"));
    autodump.start(wanted.clone()).unwrap();
    let (_calls, token, task) = spawn_fake(&autodump, clock.clone(), true);
    sleep_min(12).await;
    token.cancel();
    task.await.unwrap();
    let before = autodump.status();
    drop(autodump);

    let reloaded = Autodump::load_with_clock(dir.path(), clock.clone()).unwrap();
    let status = reloaded.status();
    assert_eq!(status, before);
    assert_eq!(status.settings, Some(wanted));
    assert_eq!(status.last_run_unix_ms, Some(T0 + 10 * MIN));
    assert_eq!(status.last_ok_unix_ms, None);
    assert_eq!(status.last_result.as_deref(), Some("failed: disk full"));
    assert_eq!(status.next_run_unix_ms, Some(T0 + 20 * MIN));

    // Down past the due time: the missed run happens as soon as the loop starts.
    sleep_min(30).await;
    let (calls, token, task) = spawn_fake(&reloaded, clock, false);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(times(&calls), [42 * MIN]);
    assert_eq!(reloaded.status().next_run_unix_ms, Some(T0 + 52 * MIN));
    token.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_loop_while_idle_waiting_or_dumping() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let autodump = Autodump::load_with_clock(dir.path(), clock.clone()).unwrap();
    // Stopped: waits for a wake-up or shutdown.
    let (_calls, token, task) = spawn_fake(&autodump, clock.clone(), false);
    sleep_min(1).await;
    token.cancel();
    task.await.unwrap();
    // Dumping forever: shutdown drops the dump and records nothing.
    autodump.start(settings(dir.path(), "c.dump", Duration::from_secs(1))).unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(
        autodump
            .clone()
            .run(|_| std::future::pending::<Result<DumpSummary, String>>(), token.clone()),
    );
    sleep_min(1).await;
    token.cancel();
    task.await.unwrap();
    assert_eq!(autodump.status().last_run_unix_ms, None);
}

#[test]
fn requests_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let autodump = Autodump::load(dir.path()).unwrap();
    let short = settings(dir.path(), "c.dump", Duration::from_millis(999));
    let err = autodump.start(short).unwrap_err();
    assert!(matches!(err, AutodumpError::IntervalTooShort { .. }), "{err:?}");
    assert!(err.to_string().contains("999ms"), "{err}");
    let relative = AutodumpSettings {
        path: "c.dump".into(),
        ..settings(dir.path(), "x", Duration::from_secs(5))
    };
    assert!(matches!(autodump.start(relative), Err(AutodumpError::RelativePath { .. })));
    let nowhere = settings(&dir.path().join("missing"), "c.dump", Duration::from_secs(5));
    assert!(matches!(autodump.start(nowhere), Err(AutodumpError::NoDirectory { .. })));
    assert!(matches!(autodump.change(None, None, 0), Err(AutodumpError::NotStarted)));
    autodump.start(settings(dir.path(), "c.dump", Duration::from_secs(5))).unwrap();
    let err = autodump.change(Some(Duration::ZERO), None, 0).unwrap_err();
    assert!(matches!(err, AutodumpError::IntervalTooShort { .. }));
    // A refused change leaves the settings as they were.
    assert_eq!(autodump.status().settings.unwrap().every, Duration::from_secs(5));
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn state_file_is_readable_json_and_damage_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let autodump = Autodump::load(dir.path()).unwrap();
    assert_eq!(autodump.status(), AutodumpStatus::default());
    autodump.start(settings(dir.path(), "c.dump", Duration::from_secs(600))).unwrap();
    let file = dir.path().join(STATE_FILE);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["settings"]["every"], "10m");

    std::fs::write(&file, b"{\"version\": 1, \"settings\": ").unwrap();
    let err = Autodump::load(dir.path()).unwrap_err();
    assert!(matches!(err, AutodumpError::Corrupt { .. }));
    assert!(err.to_string().contains(&file.display().to_string()), "{err}");

    std::fs::write(&file, b"{\"version\": 2}").unwrap();
    let err = Autodump::load(dir.path()).unwrap_err();
    assert!(matches!(err, AutodumpError::UnsupportedVersion { found: 2, .. }), "{err:?}");

    let bad = br#"{"version": 1, "settings": {"path": "/tmp/x", "every": "10ms"}}"#;
    std::fs::write(&file, bad).unwrap();
    let err = Autodump::load(dir.path()).unwrap_err();
    assert!(matches!(err, AutodumpError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains(&file.display().to_string()), "{err}");
}
