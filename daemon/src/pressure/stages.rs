//! The staged response to a fired trigger. Each stage runs only while usage is still at or
//! above the resource's low mark, and each is logged at warn with what it freed:
//!
//! - (a) `shrink_memory`: evict every namespace's memory layer to `pressure.shrink_to`
//!   percent of its bytes (memory pressure only);
//! - (b) `clear_namespace`: clear the namespaces marked `clear_on_pressure`, lowest
//!   `priority` first, re-reading usage after each (memory pressure: namespaces with a memory
//!   layer; disk pressure: namespaces with a disk layer);
//! - (c) `trim_dirs`: trim disposable directories, through the hook the directory module
//!   installs ([`super::TrimHook`]).

use std::path::PathBuf;
use std::sync::Arc;

use cachemgr_proto::{Event, EventKind, PressureAction};

use super::readings;
use super::TrimHook;
use crate::config::Config;
use crate::events::Published;
use crate::store::clock::unix_ms_now;
use crate::store::tier::Tier;
use crate::store::Store;

/// The resource whose trigger fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Memory of the machine or the cgroup.
    Memory,
    /// The fullest watched file system.
    Disk,
}

impl Resource {
    /// The name `pressure` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Memory => "memory",
            Resource::Disk => "disk",
        }
    }

    /// The stages this resource's pressure runs, in order.
    pub fn stages(self) -> &'static [Stage] {
        match self {
            Resource::Memory => &[Stage::ShrinkMemory, Stage::ClearNamespaces, Stage::TrimDirs],
            Resource::Disk => &[Stage::ClearNamespaces, Stage::TrimDirs],
        }
    }
}

/// One stage of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// (a) Evict memory layers down to the low-water mark.
    ShrinkMemory,
    /// (b) Clear `clear_on_pressure` namespaces, lowest priority first.
    ClearNamespaces,
    /// (c) Trim disposable directories.
    TrimDirs,
}

/// What a response needs.
pub struct Response<'a> {
    /// The store.
    pub store: &'a Arc<Store>,
    /// The config in force.
    pub config: &'a Config,
    /// What fired.
    pub resource: Resource,
    /// The watched paths (to re-read disk usage).
    pub paths: Vec<PathBuf>,
    /// Stage (c)'s hook, when installed.
    pub trim: Option<TrimHook>,
}

impl Response<'_> {
    /// Runs the stages from usage `used` (percent); returns the actions taken.
    pub async fn run(self, mut used: f64) -> Vec<PressureAction> {
        let low = match self.resource {
            Resource::Memory => self.config.pressure.memory_low,
            Resource::Disk => self.config.pressure.disk_low,
        };
        let mut actions = Vec::new();
        for stage in self.resource.stages() {
            if used < low {
                tracing::info!(
                    trigger = self.resource.as_str(),
                    used,
                    low,
                    "usage is below the low mark: no further stage"
                );
                break;
            }
            match stage {
                Stage::ShrinkMemory => {
                    let (entries, bytes) = self.store.shrink_memory(self.config.pressure.shrink_to);
                    actions.push(self.action("shrink_memory", None, used, entries, bytes, 0));
                }
                Stage::ClearNamespaces => {
                    for ns in self.candidates() {
                        if used < low {
                            break;
                        }
                        match self.store.clear_here(&ns).await {
                            Ok((entries, bytes)) => {
                                actions.push(self.action(
                                    "clear_namespace",
                                    Some(ns),
                                    used,
                                    entries,
                                    bytes,
                                    0,
                                ));
                            }
                            Err(err) => {
                                tracing::error!(namespace = %ns, "pressure: clearing failed: {err}");
                            }
                        }
                        used = self.reread().await;
                    }
                }
                Stage::TrimDirs => {
                    // stage (c): the disposable-directory module's `trim_for_pressure()`,
                    // installed with `PressureMonitor::set_trim_hook`.
                    if let Some(trim) = &self.trim {
                        let freed = trim().await;
                        actions.push(self.action(
                            "trim_dirs",
                            None,
                            used,
                            0,
                            freed.bytes,
                            freed.files,
                        ));
                    }
                }
            }
            used = self.reread().await;
        }
        actions
    }

    /// The namespaces stage (b) may clear for this resource, lowest priority first.
    fn candidates(&self) -> Vec<String> {
        let mut picked: Vec<(i64, String)> = self
            .config
            .namespaces
            .iter()
            .filter(|(_, settings)| settings.clear_on_pressure == Some(true))
            .filter(|(name, _)| {
                let tier = self.config.tier_for(name).0;
                match self.resource {
                    Resource::Memory => tier != Tier::Disk,
                    Resource::Disk => tier.has_disk(),
                }
            })
            .map(|(name, settings)| (settings.priority.unwrap_or(0), name.clone()))
            .collect();
        picked.sort();
        picked.into_iter().map(|(_, name)| name).collect()
    }

    fn action(
        &self,
        stage: &str,
        ns: Option<String>,
        used: f64,
        entries: u64,
        bytes: u64,
        files: u64,
    ) -> PressureAction {
        tracing::warn!(
            trigger = self.resource.as_str(),
            stage,
            namespace = ns.as_deref().unwrap_or("-"),
            used_percent = format!("{used:.1}"),
            entries,
            bytes,
            files,
            "pressure: {stage} freed {entries} entries, {bytes} bytes, {files} files"
        );
        self.store.events().publish(|| {
            let mut event = Event::new(EventKind::Pressure);
            event.count = Some(bytes);
            // No namespace name: every user sees pressure events, and the namespace's own
            // `clear` event goes to those who may read it.
            event.message = Some(format!(
                "{} at {used:.1}%: {stage} freed {entries} entries, {bytes} bytes, {files} files",
                self.resource.as_str(),
            ));
            Published { event, owner_uid: None }
        });
        PressureAction {
            at_unix_ms: unix_ms_now(),
            trigger: self.resource.as_str().to_owned(),
            stage: stage.to_owned(),
            ns,
            used_percent: used,
            entries,
            bytes,
            files,
        }
    }

    /// Usage of the resource now.
    async fn reread(&self) -> f64 {
        let resource = self.resource;
        let paths = self.paths.clone();
        let read = tokio::task::spawn_blocking(move || match resource {
            Resource::Memory => readings::memory().percent(),
            Resource::Disk => readings::disks(&paths).first().map_or(0.0, |d| d.used_percent),
        });
        read.await.unwrap_or(0.0)
    }
}
