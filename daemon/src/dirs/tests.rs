//! The service as the pressure monitor and the handlers use it, on real temp directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cachemgr_proto::DirSettings;

use super::{DirService, DirsError};

fn aged(path: &Path, len: usize, age_s: u64) {
    fs::write(path, vec![b'x'; len]).expect("write");
    let file = fs::File::options().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(age_s)).expect("mtime");
}

fn dir_with_files(base: &Path, name: &str, files: &[(usize, u64)]) -> String {
    let dir = base.join(name);
    fs::create_dir_all(&dir).expect("mkdir");
    for (i, (len, age)) in files.iter().enumerate() {
        aged(&dir.join(format!("f{i}")), *len, *age);
    }
    fs::canonicalize(dir).expect("canonical").display().to_string()
}

fn service(base: &Path) -> std::sync::Arc<DirService> {
    let state = base.join("state");
    fs::create_dir_all(&state).expect("state");
    DirService::open(&state, vec![(state.clone(), "state directory".into())], Vec::new())
        .expect("open")
}

fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}

#[tokio::test]
async fn pressure_trims_to_limits_then_clears_lowest_priority_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dirs = service(tmp.path());
    let limited = dir_with_files(tmp.path(), "limited", &[(100, 300), (100, 200), (100, 100)]);
    let low = dir_with_files(tmp.path(), "low", &[(10, 5)]);
    let high = dir_with_files(tmp.path(), "high", &[(20, 5), (20, 6)]);
    let kept = dir_with_files(tmp.path(), "kept", &[(1000, 9999)]);
    let size = |max| DirSettings { max_size_bytes: Some(max), ..DirSettings::default() };
    let pressure =
        |priority| DirSettings { clear_on_pressure: true, priority, ..DirSettings::default() };
    dirs.add(&limited, size(150), uid()).await.expect("add limited");
    dirs.add(&high, pressure(5), uid()).await.expect("add high");
    dirs.add(&low, pressure(-1), uid()).await.expect("add low");
    dirs.add(&kept, DirSettings::default(), uid()).await.expect("add kept");
    let mut paths = [high.clone(), kept.clone(), limited.clone(), low.clone()];
    paths.sort();
    assert_eq!(dirs.paths(), paths.iter().map(PathBuf::from).collect::<Vec<_>>());

    let freed = dirs.trim_for_pressure().await;
    let rows: Vec<(String, u64, u64)> =
        freed.dirs.iter().map(|d| (d.path.display().to_string(), d.files, d.bytes)).collect();
    assert_eq!(rows, [(limited.clone(), 2, 200), (low.clone(), 1, 10), (high.clone(), 2, 40)]);
    assert_eq!((freed.files, freed.bytes), (5, 250));
    assert!(Path::new(&kept).join("f0").exists(), "a directory without limits stays");
    assert!(Path::new(&low).is_dir() && Path::new(&high).is_dir(), "cleared, not removed");
}

#[tokio::test]
async fn pressure_until_stops_clearing_once_enough_is_freed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dirs = service(tmp.path());
    let first = dir_with_files(tmp.path(), "first", &[(50, 5)]);
    let second = dir_with_files(tmp.path(), "second", &[(50, 5)]);
    for (dir, priority) in [(&first, 1), (&second, 2)] {
        let settings = DirSettings { clear_on_pressure: true, priority, ..DirSettings::default() };
        dirs.add(dir, settings, uid()).await.expect("add");
    }
    let freed = dirs.trim_for_pressure_until(40).await;
    assert_eq!(freed.bytes, 50);
    assert!(Path::new(&second).join("f0").exists(), "the second was not needed");
}

#[tokio::test]
async fn add_refuses_and_names_what_was_wrong() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dirs = service(tmp.path());
    let file = tmp.path().join("file");
    fs::write(&file, b"x").expect("file");
    let state = tmp.path().join("state").display().to_string();
    let cases = [
        ("relative/path".to_owned(), "not an absolute path"),
        (file.display().to_string(), "is not a directory (it is a regular file)"),
        (tmp.path().join("nope").display().to_string(), "does not exist"),
        ("/".to_owned(), "root directory"),
        (state, "the daemon's state directory"),
    ];
    for (path, why) in cases {
        let err = dirs.add(&path, DirSettings::default(), uid()).await.expect_err(&path);
        assert!(err.to_string().contains(why), "{path}: {err}");
    }
    let err = dirs.clear("/not/registered", false).await.expect_err("unregistered");
    assert!(matches!(err, DirsError::NotRegistered(_)), "{err}");
}
