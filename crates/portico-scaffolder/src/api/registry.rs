//! The registry of actions a task may run, by id.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Action;

/// A registry refusal, with Backstage's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Another action already has this id.
    #[error("Template action with ID '{0}' has already been registered")]
    Duplicate(String),
    /// No action has this id.
    #[error("Template action with ID '{0}' is not registered.")]
    NotRegistered(String),
}

/// Actions by id. Ids are unique: registering a second action with a known id is refused.
#[derive(Clone, Default)]
pub struct ActionRegistry {
    actions: BTreeMap<String, Arc<dyn Action>>,
}

impl std::fmt::Debug for ActionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.actions.keys()).finish()
    }
}

impl ActionRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        ActionRegistry::default()
    }

    /// Adds an action; refused when its id is taken.
    pub fn register(&mut self, action: Arc<dyn Action>) -> Result<(), RegistryError> {
        let id = action.id().to_owned();
        if self.actions.contains_key(&id) {
            return Err(RegistryError::Duplicate(id));
        }
        self.actions.insert(id, action);
        Ok(())
    }

    /// The action with this id.
    pub fn get(&self, id: &str) -> Result<Arc<dyn Action>, RegistryError> {
        self.actions.get(id).cloned().ok_or_else(|| RegistryError::NotRegistered(id.to_owned()))
    }

    /// Every action, sorted by id (the order of `GET /v2/actions`).
    pub fn list(&self) -> impl Iterator<Item = &Arc<dyn Action>> {
        self.actions.values()
    }

    /// How many actions are registered.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether no action is registered.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}
