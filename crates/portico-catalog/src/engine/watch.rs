//! Change detection for file locations: the folders of every file the engine read are watched,
//! and a change makes the entities that read those files due at once.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::location::{Source, SourceKind};

/// Watches descriptor files and maps them to the entities that read them.
pub struct FileWatcher {
    state: Mutex<State>,
}

struct State {
    watcher: Option<RecommendedWatcher>,
    events: Option<mpsc::UnboundedReceiver<PathBuf>>,
    watched_dirs: HashSet<PathBuf>,
    readers: HashMap<PathBuf, HashSet<String>>,
}

impl FileWatcher {
    pub fn new(enabled: bool) -> FileWatcher {
        let (tx, rx) = mpsc::unbounded_channel();
        let watcher = if enabled {
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && (event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove())
                {
                    for path in event.paths {
                        let _ = tx.send(path);
                    }
                }
            })
            .map_err(|error| tracing::warn!(%error, "file change detection is unavailable"))
            .ok()
        } else {
            None
        };
        FileWatcher {
            state: Mutex::new(State {
                watcher,
                events: Some(rx),
                watched_dirs: HashSet::new(),
                readers: HashMap::new(),
            }),
        }
    }

    /// The stream of changed paths; taken once by the processing loop.
    pub fn take_events(&self) -> Option<mpsc::UnboundedReceiver<PathBuf>> {
        self.state.lock().ok().and_then(|mut state| state.events.take())
    }

    /// Remembers that `entity_ref` read `sources`, watching the folders of the files among them.
    pub fn watch(&self, entity_ref: &str, sources: &[Source]) {
        let Ok(mut state) = self.state.lock() else { return };
        if state.watcher.is_none() {
            return;
        }
        for source in sources.iter().filter(|s| s.kind == SourceKind::File) {
            let path = PathBuf::from(&source.target);
            state.readers.entry(path.clone()).or_default().insert(entity_ref.to_owned());
            // Editors often replace files (write + rename), so watch the folder, not the file.
            let Some(dir) = path.parent().map(Path::to_path_buf) else { continue };
            if state.watched_dirs.insert(dir.clone())
                && let Some(watcher) = state.watcher.as_mut()
                && let Err(error) = watcher.watch(&dir, RecursiveMode::NonRecursive)
            {
                tracing::debug!(%error, dir = %dir.display(), "cannot watch folder");
            }
        }
    }

    /// The entities that read any of `paths`.
    pub fn refs_for(&self, paths: &[PathBuf]) -> Vec<String> {
        let Ok(state) = self.state.lock() else { return Vec::new() };
        let mut refs: Vec<String> =
            paths.iter().filter_map(|p| state.readers.get(p)).flatten().cloned().collect();
        refs.sort();
        refs.dedup();
        refs
    }
}

/// Waits for the next changed paths and collects the burst that follows (an editor's save is
/// several events). Never resolves when change detection is off.
pub async fn next_batch(events: &mut Option<mpsc::UnboundedReceiver<PathBuf>>) -> Vec<PathBuf> {
    let Some(rx) = events.as_mut() else { return std::future::pending().await };
    let Some(first) = rx.recv().await else { return std::future::pending().await };
    let mut paths = vec![first];
    let deadline = tokio::time::sleep(Duration::from_millis(100));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            next = rx.recv() => match next {
                Some(path) => paths.push(path),
                None => break,
            },
        }
    }
    paths
}
