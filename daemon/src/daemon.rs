//! Start-up and shutdown in order: config, paths, master key, socket, state, tasks, serve, drain.

use crate::supervisor::Lifetime;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::Args;
use crate::config::Config;
use crate::context::{DaemonContext, DaemonPaths, KeyInfo, Services};
use crate::handlers;
use crate::jobs::autodump::{Autodump, AutodumpSettings};
use crate::keys::{LoadedKey, MasterKey};
use crate::store::disk::{DiskLayer, DiskOptions, OpenReport};
use crate::store::Store;
use crate::{keys, paths, server, signals};

/// HKDF info of the key dumps are sealed under.
const DUMP_KEY_INFO: &[u8] = b"cachemgr/dump-root/v1";

/// Runs the daemon until it is told to stop. Errors are start-up failures.
pub async fn run(args: Args) -> Result<()> {
    let config_path = paths::config_path(args.config.clone());
    let config = Config::load(config_path.as_deref()).with_context(|| match &config_path {
        Some(path) => format!("cannot load config {}", path.display()),
        None => "cannot load config from the environment".to_owned(),
    })?;
    if args.check_config {
        println!("{}", toml::to_string_pretty(&config).context("cannot print config")?);
        return Ok(());
    }
    let config = Arc::new(config);
    let open_files = crate::limits::raise_open_files();
    if let Some(limit) = open_files.filter(|&limit| limit < config.max_connections as u64 + 64) {
        tracing::warn!(
            limit,
            max_connections = config.max_connections,
            "the open-files limit is below max_connections: clients past it will be refused by accept (raise LimitNOFILE=)"
        );
    }
    let activated = server::activation::take_listener()?;
    let socket_gid = config.socket_group.as_deref().and_then(crate::access::names::group_id);
    let socket = match &activated {
        Some(activated) => activated.path.clone(),
        None => {
            let (socket, owned_dir) = paths::socket_path(args.socket.clone(), &config);
            if let Some(dir) = socket.parent() {
                let created = paths::prepare_dir(dir, owned_dir)?;
                if let Some(gid) = socket_gid {
                    // The socket group must pass every directory the daemon made on the way
                    // (and a default one it owns); a directory someone else made is theirs.
                    let mut shared = created;
                    if owned_dir && !shared.iter().any(|d| d == dir) {
                        shared.push(dir.to_path_buf());
                    }
                    for level in &shared {
                        paths::share_dir_with_group(level, gid)?;
                    }
                }
            }
            socket
        }
    };
    let state_dir = paths::state_dir(args.state_dir.clone(), &config)?;
    paths::prepare_dir(&state_dir, false)?;
    let LoadedKey { key: master, source } = keys::load_master_key(&config.keys, &state_dir)
        .await
        .context("cannot load the master key")?;
    let fingerprint = master.fingerprint();
    tracing::info!(source = %source, fingerprint = %fingerprint, "master key loaded");
    let master = Arc::new(master);
    let (disk, report) = open_disk(&config, &state_dir, master.clone(), !source.is_persistent())?;
    let redis = open_redis(&config, master.clone())?;
    let store = Store::with_layers(config.clone(), Some(disk.clone()), redis);
    // Before the socket exists: no client sees data kept under settings that changed, and
    // the clearing does not widen the gap between "listening" and "signals handled".
    let changed = crate::reload::at_start(&store, &config, &state_dir).await;
    let bound = match activated {
        Some(activated) => server::listener::adopt(activated, socket_gid)?,
        None => server::listener::bind(&socket, socket_gid)?,
    };
    // Right after the socket (whose lock says whether another daemon runs): a port in use
    // fails the start before the rest is set up, and leaves no socket behind.
    let metrics = match config.metrics_listen {
        Some(addr) => match crate::server::metrics_http::bind(addr).await {
            Ok(listener) => Some(listener),
            Err(err) => {
                bound.guard.remove_socket();
                anyhow::bail!("cannot serve metrics on {addr} (metrics_listen): {err}");
            }
        },
        None => None,
    };
    let key = KeyInfo {
        source: source.to_string(),
        persistent: source.is_persistent(),
        fingerprint,
        dump_root: Arc::new(master.derive(b"", DUMP_KEY_INFO)),
    };
    let mut notices = report.notices;
    if config.redis.url.is_some() && !source.is_persistent() {
        let notice = "Redis namespaces are sealed under an ephemeral master key: other daemons \
                      cannot read them, nor can this one after a restart (give every daemon the \
                      same key: `cachemgrd key-init`, CACHEMGR_KEY or a credential)"
            .to_owned();
        tracing::warn!("{notice}");
        notices.push(notice);
    }
    notices.extend(changed);
    let clear_schedule = crate::jobs::clear_schedule::ClearScheduler::load(&state_dir)
        .inspect_err(|err| {
            let notice = format!("scheduled clears are off: {err}");
            tracing::error!("{notice}");
            notices.push(notice);
        })
        .ok();
    let pressure = crate::pressure::PressureMonitor::new(&config, state_dir.clone());
    let autodump = match Autodump::load(&state_dir) {
        Ok(schedule) => Some(schedule),
        Err(err) => {
            let notice = format!("auto-dump is off: {err}");
            tracing::error!("{notice}");
            notices.push(notice);
            None
        }
    };
    let apps = match crate::apps::AppService::open(
        config.apps.clone(),
        &config.app_keys,
        &state_dir,
        config_path.clone(),
    ) {
        Ok(apps) => Some(apps),
        Err(err) => {
            let notice = format!("app caches are off: {err}");
            tracing::error!("{notice}");
            notices.push(notice);
            None
        }
    };
    if let Some(apps) = &apps {
        let _ = apps.events.set(store.events().clone());
        // A migration a crash cut short is rolled back before any request can see it.
        apps.recover_migrations().await;
    }
    let dirs = open_dirs(&config, &state_dir, &socket, config_path.as_deref(), &mut notices);
    let paths = DaemonPaths { socket: socket.clone(), config_path: config_path.clone(), state_dir };
    let services = Services {
        store,
        notices,
        key,
        autodump: autodump.clone(),
        apps: apps.clone(),
        dirs,
        pressure: pressure.clone(),
        clear_schedule: clear_schedule.clone(),
    };
    let state = DaemonContext::new(paths, services);
    let jobs = state.jobs.clone();
    if let Some(schedule) = autodump {
        let dumper = state.clone();
        let run = move |settings: AutodumpSettings| {
            let state = dumper.clone();
            async move {
                let owner =
                    settings.owner_uid.unwrap_or_else(|| rustix::process::geteuid().as_raw());
                let principal = crate::access::paths::Principal::of_uid(owner);
                handlers::dumps::write_dump(
                    state,
                    settings.path,
                    settings.ns,
                    settings.pattern,
                    principal,
                )
                .await
                .map_err(|failure| failure.to_string())
            }
        };
        let shutdown = state.shutdown.clone();
        jobs.spawn("autodump", Lifetime::Daemon, move || {
            Box::pin(schedule.clone().run(run.clone(), shutdown.clone()))
        });
    }
    if let Some(apps) = apps {
        let shutdown = state.shutdown.clone();
        jobs.spawn("app-scheduler", Lifetime::Daemon, move || {
            Box::pin(crate::apps::scheduler::run(apps.clone(), shutdown.clone()))
        });
    }
    if let Some(dirs) = state.dirs.clone() {
        let (store, shutdown) = (state.store.clone(), state.shutdown.clone());
        jobs.spawn("dir-trimmer", Lifetime::Daemon, move || {
            let store = store.clone();
            let every = move || store.current_config().dirs.trim_every;
            Box::pin(crate::dirs::scheduler::run(dirs.clone(), every, shutdown.clone()))
        });
    }
    if let Some(dirs) = state.dirs.clone() {
        // The registered directories' file systems are watched too, and stage (c) trims them.
        let listed = dirs.clone();
        pressure.set_extra_paths(Arc::new(move || listed.paths()));
        pressure.set_trim_hook(Arc::new(move || {
            let dirs = dirs.clone();
            Box::pin(async move {
                let freed = dirs.trim_for_pressure().await;
                crate::pressure::TrimFreed { files: freed.files, bytes: freed.bytes }
            })
        }));
    }
    let (store, shutdown) = (state.store.clone(), state.shutdown.clone());
    jobs.spawn("pressure-monitor", Lifetime::Daemon, move || {
        Box::pin(pressure.clone().run(store.clone(), shutdown.clone()))
    });
    if let Some(schedule) = clear_schedule {
        let (store, shutdown) = (state.store.clone(), state.shutdown.clone());
        jobs.spawn("clear-scheduler", Lifetime::Daemon, move || {
            Box::pin(schedule.clone().run(store.clone(), shutdown.clone()))
        });
    }
    let (store, shutdown) = (state.store.clone(), state.shutdown.clone());
    jobs.spawn("memory-sweeper", Lifetime::Daemon, move || {
        Box::pin(store.clone().run_sweeper(shutdown.clone()))
    });
    if state.store.redis().is_some() {
        let (store, shutdown) = (state.store.clone(), state.shutdown.clone());
        jobs.spawn("redis-listener", Lifetime::Daemon, move || {
            Box::pin(store.clone().run_redis_tasks(shutdown.clone()))
        });
    }
    let (sweeping, events, shutdown) =
        (disk.clone(), state.store.events().clone(), state.shutdown.clone());
    jobs.spawn("disk-sweeper", Lifetime::Daemon, move || {
        Box::pin(sweeping.clone().run_sweeper(shutdown.clone(), events.clone()))
    });
    let resuming = disk.clone();
    jobs.spawn("resume-rotations", Lifetime::Once, move || {
        let resuming = resuming.clone();
        Box::pin(async move {
            for result in resuming.resume_rotations().await {
                match result {
                    Ok(done) => {
                        tracing::info!(namespace = %done.ns, resealed = done.resealed, "interrupted key rotation finished")
                    }
                    Err(err) => tracing::error!("interrupted key rotation failed: {err}"),
                }
            }
        })
    });
    if let Some(listener) = metrics {
        let addr = listener.local_addr().map_or_else(|_| "?".to_owned(), |a| a.to_string());
        tracing::info!("metrics served over HTTP at http://{addr}/metrics (metrics_listen)");
        let (listener, context) = (Arc::new(listener), state.clone());
        jobs.spawn("metrics-http", Lifetime::Daemon, move || {
            Box::pin(crate::server::metrics_http::serve(listener.clone(), context.clone()))
        });
    }
    let signal_task = signals::spawn(state.clone()).context("cannot install signal handlers")?;
    tracing::info!(
        socket = %socket.display(),
        config = %config_path.as_ref().map_or("(defaults)".into(), |p| p.display().to_string()),
        pid = std::process::id(),
        "cachemgrd {} listening (protocol {})",
        env!("CARGO_PKG_VERSION"),
        cachemgr_proto::PROTOCOL_VERSION
    );
    // The socket is bound and listening (connections queue until the first accept below),
    // so systemd may start the units that need it.
    crate::notify::ready(&crate::watchdog::status_line(&state));
    crate::watchdog::spawn(state.clone());
    let drained = server::run(bound, state.clone()).await;
    signal_task.abort();
    jobs.join(Duration::from_secs(5)).await;
    let flush = disk.clone();
    let _ = tokio::task::spawn_blocking(move || flush.close(Duration::from_secs(10))).await;
    tracing::info!(drained, "cachemgrd stopped");
    Ok(())
}

/// Sets up the Redis layer when `[redis] url` is set (connecting happens on first use, so
/// the daemon starts while Redis is down and serves locally until it is up).
fn open_redis(
    config: &Config,
    master: Arc<MasterKey>,
) -> Result<Option<Arc<crate::store::redis::RedisLayer>>> {
    if config.redis.url.is_none() {
        return Ok(None);
    }
    let layer = crate::store::redis::RedisLayer::new(config.redis.clone(), master)
        .context("cannot set up the Redis layer")?;
    tracing::info!(url = %config.redis.display_url(), prefix = %config.redis.prefix, "Redis layer configured");
    Ok(Some(Arc::new(layer)))
}

/// Opens the disk layer (wiping it first when the master key is ephemeral).
fn open_disk(
    config: &Config,
    state_dir: &Path,
    master: Arc<MasterKey>,
    ephemeral: bool,
) -> Result<(Arc<DiskLayer>, OpenReport)> {
    let path = paths::disk_path(config.disk.path.clone(), state_dir);
    let options = DiskOptions {
        path: path.clone(),
        cache_bytes: usize::try_from(config.disk.cache_size.as_u64()).unwrap_or(usize::MAX),
        batch_window: config.disk.batch_window,
        wipe: ephemeral,
        plain: false,
    };
    DiskLayer::open(options, master)
        .with_context(|| format!("cannot open the disk layer at {}", path.display()))
}

/// The cache directory service; its failure to load is a notice, not a failed start.
fn open_dirs(
    config: &Config,
    state_dir: &Path,
    socket: &Path,
    config_path: Option<&Path>,
    notices: &mut Vec<String>,
) -> Option<Arc<crate::dirs::DirService>> {
    let mut own = vec![
        (state_dir.to_path_buf(), "state directory".to_owned()),
        (config.apps.backup_root(state_dir), "backup directory".to_owned()),
    ];
    if let Some(dir) = socket.parent() {
        own.push((dir.to_path_buf(), "socket directory".to_owned()));
    }
    let config_dir = config_path.and_then(Path::parent).into_iter();
    let exact = config_dir
        .map(|dir| (dir.to_path_buf(), "the daemon's configuration directory".to_owned()))
        .collect();
    match crate::dirs::DirService::open(state_dir, own, exact) {
        Ok(dirs) => Some(dirs),
        Err(err) => {
            let notice = format!("cache directories are off: {err}");
            tracing::error!("{notice}");
            notices.push(notice);
            None
        }
    }
}
