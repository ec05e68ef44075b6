//! Which directory each part of the merged config came from.
//!
//! Relative paths in config (`catalog.locations[].target`, a SQLite file name, …) are relative to
//! the file that wrote them, and after merging several files (and includes) different subtrees
//! come from different files. An [`Origin`] tree mirrors the objects of the config: a node's `dir`
//! holds for everything below it unless a child node says otherwise. Arrays and scalars are
//! replaced wholesale by a merge, so they never need nodes of their own.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Origin of one subtree of the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    /// Directory of the file that supplied this subtree; `None` for values that came from no
    /// file (environment overrides, [`crate::Config::from_json`]).
    pub(crate) dir: Option<Arc<Path>>,
    pub(crate) children: BTreeMap<String, Origin>,
}

impl Origin {
    /// A subtree that entirely comes from `dir`.
    pub(crate) fn leaf(dir: &Arc<Path>) -> Self {
        Origin { dir: Some(Arc::clone(dir)), children: BTreeMap::new() }
    }

    /// A subtree with no file of origin.
    pub(crate) fn none() -> Self {
        Origin::default()
    }

    /// Records a child's origin unless it adds nothing to what this node already says.
    pub(crate) fn add_child_if_different(&mut self, key: &str, child: Origin) {
        if child.dir != self.dir || !child.children.is_empty() {
            self.children.insert(key.to_owned(), child);
        }
    }

    /// Removes and returns the origin of `key`, materialised with this node's directory when the
    /// child has no node of its own.
    pub(crate) fn take_child(&mut self, key: &str) -> Origin {
        self.children
            .remove(key)
            .unwrap_or_else(|| Origin { dir: self.dir.clone(), children: BTreeMap::new() })
    }

    /// The child node for `key`, created (inheriting this node's directory) when missing.
    pub(crate) fn child_mut(&mut self, key: &str) -> &mut Origin {
        let dir = self.dir.clone();
        self.children.entry(key.to_owned()).or_insert_with(|| Origin { dir, children: BTreeMap::new() })
    }

    /// Directory of the deepest node on `path`.
    pub(crate) fn dir_for<'a>(&self, path: impl IntoIterator<Item = &'a str>) -> Option<&Path> {
        let mut node = self;
        for segment in path {
            match node.children.get(segment) {
                Some(child) => node = child,
                None => break,
            }
        }
        node.dir.as_deref()
    }
}
