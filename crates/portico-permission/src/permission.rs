//! The permissions Portico's plugins check, with Backstage's names, types and action attributes.

use std::fmt;

/// What kind of object a resource permission is checked against (Backstage's `resourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// A catalog entity of any kind (`catalog-entity`).
    CatalogEntity,
    /// A parameter page or a step of a software template (`scaffolder-template`).
    ScaffolderTemplate,
    /// A template step's action (`scaffolder-action`).
    ScaffolderAction,
    /// A scaffolder task (`scaffolder-task`).
    ScaffolderTask,
}

impl ResourceType {
    /// The wire name, e.g. `catalog-entity`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::CatalogEntity => "catalog-entity",
            ResourceType::ScaffolderTemplate => "scaffolder-template",
            ResourceType::ScaffolderAction => "scaffolder-action",
            ResourceType::ScaffolderTask => "scaffolder-task",
        }
    }

    /// The resource type with this wire name.
    pub fn parse(name: &str) -> Option<ResourceType> {
        [
            ResourceType::CatalogEntity,
            ResourceType::ScaffolderTemplate,
            ResourceType::ScaffolderAction,
            ResourceType::ScaffolderTask,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Backstage's `attributes.action` of a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermissionAction {
    Create,
    Read,
    Update,
    Delete,
}

impl PermissionAction {
    /// The wire name, which is also the Cedar action group (`Portico::Action::"read"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionAction::Create => "create",
            PermissionAction::Read => "read",
            PermissionAction::Update => "update",
            PermissionAction::Delete => "delete",
        }
    }

    /// The action with this wire name.
    pub fn parse(name: &str) -> Option<PermissionAction> {
        [PermissionAction::Create, PermissionAction::Read, PermissionAction::Update, PermissionAction::Delete]
            .into_iter()
            .find(|action| action.as_str() == name)
    }
}

/// Whether a permission is checked on its own (`basic`) or against one resource (`resource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermissionType {
    Basic,
    Resource(ResourceType),
}

/// A permission Portico knows. Its name is also the Cedar action policies refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission {
    /// Backstage's permission name, e.g. `catalog.entity.read`.
    pub name: &'static str,
    /// Basic or resource, as Backstage declares it on the wire.
    pub kind: PermissionType,
    /// Backstage's `attributes.action`, absent for permissions that declare none.
    pub action: Option<PermissionAction>,
}

impl Permission {
    /// The plugin that owns the permission: the part of the name before the first dot.
    pub fn plugin(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }

    /// The resource type of a resource permission.
    pub fn resource_type(&self) -> Option<ResourceType> {
        match self.kind {
            PermissionType::Basic => None,
            PermissionType::Resource(resource_type) => Some(resource_type),
        }
    }

    /// The permission with this name, among those Portico knows.
    pub fn named(name: &str) -> Option<&'static Permission> {
        ALL.iter().copied().find(|permission| permission.name == name)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

const fn basic(name: &'static str, action: Option<PermissionAction>) -> Permission {
    Permission { name, kind: PermissionType::Basic, action }
}

const fn resource(name: &'static str, of: ResourceType, action: Option<PermissionAction>) -> Permission {
    Permission { name, kind: PermissionType::Resource(of), action }
}

use PermissionAction::{Create, Delete, Read, Update};
use ResourceType::{CatalogEntity, ScaffolderAction, ScaffolderTask, ScaffolderTemplate};

pub const CATALOG_ENTITY_READ: Permission = resource("catalog.entity.read", CatalogEntity, Some(Read));
pub const CATALOG_ENTITY_CREATE: Permission = basic("catalog.entity.create", Some(Create));
pub const CATALOG_ENTITY_DELETE: Permission = resource("catalog.entity.delete", CatalogEntity, Some(Delete));
pub const CATALOG_ENTITY_REFRESH: Permission =
    resource("catalog.entity.refresh", CatalogEntity, Some(Update));
pub const CATALOG_ENTITY_VALIDATE: Permission = basic("catalog.entity.validate", None);
pub const CATALOG_LOCATION_READ: Permission = basic("catalog.location.read", Some(Read));
pub const CATALOG_LOCATION_CREATE: Permission = basic("catalog.location.create", Some(Create));
pub const CATALOG_LOCATION_DELETE: Permission = basic("catalog.location.delete", Some(Delete));
pub const CATALOG_LOCATION_ANALYZE: Permission = basic("catalog.location.analyze", None);
pub const SCAFFOLDER_TASK_CREATE: Permission = basic("scaffolder.task.create", Some(Create));
/// A resource permission as in Backstage's newest scaffolder (older clients send it as basic).
pub const SCAFFOLDER_TASK_READ: Permission = resource("scaffolder.task.read", ScaffolderTask, Some(Read));
/// A resource permission as in Backstage's newest scaffolder (older clients send it as basic).
pub const SCAFFOLDER_TASK_CANCEL: Permission = resource("scaffolder.task.cancel", ScaffolderTask, None);
pub const SCAFFOLDER_TEMPLATE_PARAMETER_READ: Permission =
    resource("scaffolder.template.parameter.read", ScaffolderTemplate, Some(Read));
pub const SCAFFOLDER_TEMPLATE_STEP_READ: Permission =
    resource("scaffolder.template.step.read", ScaffolderTemplate, Some(Read));
pub const SCAFFOLDER_TEMPLATE_MANAGEMENT: Permission = basic("scaffolder.template.management", None);
pub const SCAFFOLDER_ACTION_EXECUTE: Permission =
    resource("scaffolder.action.execute", ScaffolderAction, None);
/// Portico's own (Backstage has no audit log): reading the audit log.
pub const AUDIT_ENTRY_READ: Permission = basic("audit.entry.read", Some(Read));

/// Every permission Portico knows, in the order the Cedar schema declares them.
pub const ALL: &[&Permission] = &[
    &CATALOG_ENTITY_READ,
    &CATALOG_ENTITY_CREATE,
    &CATALOG_ENTITY_DELETE,
    &CATALOG_ENTITY_REFRESH,
    &CATALOG_ENTITY_VALIDATE,
    &CATALOG_LOCATION_READ,
    &CATALOG_LOCATION_CREATE,
    &CATALOG_LOCATION_DELETE,
    &CATALOG_LOCATION_ANALYZE,
    &SCAFFOLDER_TASK_CREATE,
    &SCAFFOLDER_TASK_READ,
    &SCAFFOLDER_TASK_CANCEL,
    &SCAFFOLDER_TEMPLATE_PARAMETER_READ,
    &SCAFFOLDER_TEMPLATE_STEP_READ,
    &SCAFFOLDER_TEMPLATE_MANAGEMENT,
    &SCAFFOLDER_ACTION_EXECUTE,
    &AUDIT_ENTRY_READ,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_plugins_come_from_the_name() {
        let mut names: Vec<_> = ALL.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(CATALOG_LOCATION_DELETE.plugin(), "catalog");
        assert_eq!(SCAFFOLDER_ACTION_EXECUTE.plugin(), "scaffolder");
        assert_eq!(Permission::named("catalog.entity.read"), Some(&CATALOG_ENTITY_READ));
        assert_eq!(Permission::named("catalog.entity.raed"), None);
    }

    #[test]
    fn wire_names_round_trip() {
        for resource_type in ALL.iter().filter_map(|p| p.resource_type()) {
            assert_eq!(ResourceType::parse(resource_type.as_str()), Some(resource_type));
        }
        assert_eq!(PermissionAction::parse("update"), Some(PermissionAction::Update));
        assert_eq!(PermissionAction::parse("execute"), None);
    }
}
