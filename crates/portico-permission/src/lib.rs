//! Portico's permission engine: Backstage's permissions (`catalog.entity.read`,
//! `scaffolder.task.create`, …) decided by [Cedar](https://www.cedarpolicy.com) policies that
//! administrators write in `.cedar` files.
//!
//! * With `permission.enabled: false`, or enabled without policy files, everything is allowed
//!   (Backstage's allow-all policy): [`PolicyEngine::allow_all`], [`PolicyEngine::from_settings`].
//! * Otherwise a check is allowed when some `permit` policy matches and no `forbid` policy does;
//!   nothing matching means deny. Policy files are validated against the schema below when they
//!   are loaded; every error names its file, line and column.
//!
//! # Cedar vocabulary
//!
//! The full schema is [`SCHEMA`] (`src/portico.cedarschema`). Identifiers of catalog things are
//! Backstage entity refs in lower case. String attributes taken from entities (kind, namespace,
//! name, owner, created_by) are lower-cased too; labels, tags, lifecycle and type are as written.
//!
//! **Principals**
//!
//! | entity | when | attributes | parents |
//! |---|---|---|---|
//! | `Portico::User::"user:default/jane"` | a signed-in user | `ref`, `ownership_refs` (set of refs) | `Portico::Group::"group:default/team-a"` for each group among the ownership refs |
//! | `Portico::Service::"<subject>"` | a service token | `subject` | — |
//! | `Portico::Anonymous::"anonymous"` | no credentials | — | — |
//!
//! `principal in Portico::Group::"group:default/team-a"` asks for membership;
//! `principal.ownership_refs.contains(resource.owner)` asks for ownership (guard it with
//! `principal is Portico::User`, since services and anonymous callers have no ownership refs).
//!
//! **Actions**: `Portico::Action::"<permission name>"`, one per [`permission::ALL`]. Each is in
//! the action group of its `action` attribute (`Portico::Action::"read"`, `"create"`, `"update"`,
//! `"delete"`) and of its plugin (`Portico::Action::"catalog"`, `"scaffolder"`), so
//! `action in Portico::Action::"delete"` covers every deleting permission.
//!
//! **Resources**
//!
//! | entity | for | attributes |
//! |---|---|---|
//! | `Portico::Entity::"component:default/x"` | `catalog.entity.read/delete/refresh`; `catalog.location.delete` (the entity being unregistered); `scaffolder.task.create` (the template being run) | `ref`, `kind`, `namespace`, `name`, `owner`? (`spec.owner` as a full ref: `group:default/team-a`), `labels` (set of `"key=value"`), `tags` (set), `lifecycle`?, `type`?; annotations are the entity's Cedar tags: `resource.hasTag("k")`, `resource.getTag("k")` |
//! | `Portico::Plugin::"catalog"`, `"scaffolder"` | basic permissions, checked without a resource | — |
//! | `Portico::TemplatePart::"…"` | `scaffolder.template.parameter.read`, `scaffolder.template.step.read` | `template` (its `Portico::Entity`), `tags` (the part's `backstage:permissions.tags`), `id`?, `action`? (steps) |
//! | `Portico::ScaffolderAction::"publish:git"` | `scaffolder.action.execute` | `id`, `template` |
//! | `Portico::Task::"<task id>"` | `scaffolder.task.read`, `scaffolder.task.cancel` | `id`, `created_by`?, `template`? |
//!
//! Optional attributes (`?`) must be tested with `has` before use; the validator insists.
//!
//! # Example
//!
//! ```cedar
//! // Entities labelled portico.io/restricted: "true" are visible to their owners only.
//! forbid (principal, action == Portico::Action::"catalog.entity.read", resource is Portico::Entity)
//! when { resource.labels.contains("portico.io/restricted=true") }
//! unless { principal is Portico::User && resource has owner &&
//!          principal.ownership_refs.contains(resource.owner) };
//! ```
//!
//! `demo/policies/` ships commented examples.

pub mod authorize;
mod engine;
pub mod permission;
mod principal;
mod resource;
mod slice;
mod vocabulary;

pub use engine::{
    Decision, EntityClass, EntityClassifier, PolicyEngine, PolicyError, PolicyProblem, PreparedCheck,
};
pub use permission::{Permission, PermissionAction, PermissionType, ResourceType};
pub use principal::Principal;
pub use resource::Resource;
pub use vocabulary::SCHEMA;
