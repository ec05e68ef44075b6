//! The Cedar schema (`portico.cedarschema`) and the entity type names it declares.

use std::str::FromStr;
use std::sync::LazyLock;

use cedar_policy::{EntityId, EntityTypeName, EntityUid, Schema};

/// The Cedar schema policies are validated against, in Cedar's schema syntax.
pub const SCHEMA: &str = include_str!("portico.cedarschema");

pub(crate) static PARSED_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::from_str(SCHEMA).unwrap_or_else(|e| panic!("the bundled Cedar schema does not parse: {e}"))
});

/// The entity types of the schema, parsed once.
pub(crate) struct Types {
    pub group: EntityTypeName,
    pub user: EntityTypeName,
    pub service: EntityTypeName,
    pub anonymous: EntityTypeName,
    pub plugin: EntityTypeName,
    pub entity: EntityTypeName,
    pub template_part: EntityTypeName,
    pub scaffolder_action: EntityTypeName,
    pub task: EntityTypeName,
    pub action: EntityTypeName,
}

pub(crate) static TYPES: LazyLock<Types> = LazyLock::new(|| {
    let name = |text: &str| {
        EntityTypeName::from_str(text).unwrap_or_else(|e| panic!("{text} is not an entity type name: {e}"))
    };
    Types {
        group: name("Portico::Group"),
        user: name("Portico::User"),
        service: name("Portico::Service"),
        anonymous: name("Portico::Anonymous"),
        plugin: name("Portico::Plugin"),
        entity: name("Portico::Entity"),
        template_part: name("Portico::TemplatePart"),
        scaffolder_action: name("Portico::ScaffolderAction"),
        task: name("Portico::Task"),
        action: name("Portico::Action"),
    }
});

/// `Type::"id"`.
pub(crate) fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::ALL;

    #[test]
    fn the_schema_declares_every_permission_and_its_groups() {
        let actions: Vec<String> = PARSED_SCHEMA.actions().map(ToString::to_string).collect();
        let action_entities = PARSED_SCHEMA.action_entities().unwrap();
        for permission in ALL {
            let action = uid(&TYPES.action, permission.name);
            assert!(actions.contains(&action.to_string()), "{} is not in the schema", permission.name);
            let groups: Vec<String> =
                action_entities.ancestors(&action).into_iter().flatten().map(ToString::to_string).collect();
            let mut expected = vec![uid(&TYPES.action, permission.plugin()).to_string()];
            expected.extend(permission.action.map(|a| uid(&TYPES.action, a.as_str()).to_string()));
            let mut groups = groups;
            groups.sort();
            expected.sort();
            assert_eq!(groups, expected, "groups of {}", permission.name);
        }
    }
}
