//! The scaffolder's permissions (other-apis.md §1.8) where more than one handler needs them:
//! which parts of a template a caller may read ([`authorized_parts`]), which tasks it may read
//! ([`readable_tasks`]), and who a task runs for once no request is there any more ([`RunAs`]).
//!
//! Handlers ask through the [`Access`] they take; a task's steps run later on a worker, which
//! rebuilds the creator's [`Access`] from the [`RunAs`] kept with the task.

use std::sync::Arc;

use portico_plugin::permission::Resource;
use portico_plugin::permission::permission::{
    SCAFFOLDER_TASK_READ, SCAFFOLDER_TEMPLATE_PARAMETER_READ, SCAFFOLDER_TEMPLATE_STEP_READ,
};
use portico_plugin::{Access, Permissions};
use portico_store::{TaskQuery, TaskRecord};
use portico_web::{AccessRestrictions, Principal, ServicePrincipal, UserPrincipal};
use serde_json::{Map, Value, json};

use crate::runner::TEMPLATE_API_VERSION;
use crate::tasks::{TaskError, TaskService};

/// The key of a stored task spec under which its [`RunAs`] is kept. The API never serves it
/// (`routes::serialize_task` strips it).
pub const RUN_AS_KEY: &str = "__runAs";

/// What the checks made while a task runs are decided on: who created the task, and the
/// template it runs as the policies see it (`kind`, `metadata` and the `spec` fields policies
/// read — not its parameters and steps).
///
/// It is stored inside the task's spec, under [`RUN_AS_KEY`]: the spec is written in the same
/// insert that makes the task claimable, so a worker never sees a task without it; it stays
/// unchanged through retries and recoveries, which rerun the same steps for the same creator.
/// The secrets would not do (they are dropped when a worker claims the task and replaced on
/// retry), nor would the task's saved state (written after the insert, so a worker could claim
/// the task in between).
#[derive(Debug, Clone, PartialEq)]
pub struct RunAs {
    /// Who created the task; a user's ownership refs and a service's token restrictions
    /// included, since decisions depend on them.
    pub principal: Principal,
    /// The template, reduced to what policies read of it.
    pub template: Value,
}

impl RunAs {
    /// `principal` running `template` (a Template entity).
    pub fn new(principal: Principal, template: &Value) -> RunAs {
        let spec = template.get("spec");
        let mut kept = Map::new();
        for key in ["owner", "type", "lifecycle"] {
            if let Some(value) = spec.and_then(|spec| spec.get(key)) {
                kept.insert(key.to_owned(), value.clone());
            }
        }
        let mut reduced = template_of(template.get("metadata").cloned().unwrap_or_else(|| json!({})));
        reduced["spec"] = Value::Object(kept);
        RunAs { principal, template: reduced }
    }

    /// The creator's access under the portal's `permissions`.
    pub fn access(&self, permissions: Arc<Permissions>) -> Access {
        Access::new(self.principal.clone(), permissions)
    }

    /// The stored form: `{principal: {type, ...}, template}`.
    pub fn to_json(&self) -> Value {
        let principal = match &self.principal {
            Principal::User(user) => json!({
                "type": "user",
                "userEntityRef": user.user_entity_ref,
                "ownershipEntityRefs": user.ownership_entity_refs,
            }),
            Principal::Service(service) => {
                let mut principal = json!({"type": "service", "subject": service.subject});
                if let Some(restrictions) = &service.access_restrictions {
                    principal["accessRestrictions"] = json!({
                        "permissionNames": restrictions.permission_names,
                        "permissionActions": restrictions.permission_actions,
                    });
                }
                principal
            }
            Principal::None => json!({"type": "none"}),
        };
        json!({"principal": principal, "template": self.template})
    }

    /// Reads [`RunAs::to_json`]'s form; `None` when it is not that.
    pub fn from_json(value: &Value) -> Option<RunAs> {
        let principal = value.get("principal")?;
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let texts = |value: Option<&Value>| -> Vec<String> {
            value
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let principal = match principal.get("type").and_then(Value::as_str)? {
            "user" => Principal::User(UserPrincipal {
                user_entity_ref: text(principal, "userEntityRef")?,
                ownership_entity_refs: texts(principal.get("ownershipEntityRefs")),
                expires_at: 0,
            }),
            "service" => Principal::Service(ServicePrincipal {
                subject: text(principal, "subject")?,
                access_restrictions: principal.get("accessRestrictions").map(|restrictions| {
                    AccessRestrictions {
                        permission_names: texts(restrictions.get("permissionNames")),
                        permission_actions: texts(restrictions.get("permissionActions")),
                    }
                }),
            }),
            "none" => Principal::None,
            _ => return None,
        };
        Some(RunAs { principal, template: value.get("template").filter(|t| t.is_object())?.clone() })
    }
}

/// A Template entity with only `metadata`: what policies see of the template of a task that
/// kept no [`RunAs`].
pub fn template_of(metadata: Value) -> Value {
    json!({"apiVersion": TEMPLATE_API_VERSION, "kind": "Template", "metadata": metadata})
}

/// The template a stored task runs, as policies see it: its [`RunAs`] template, else one made
/// of `templateInfo.entity.metadata`.
pub fn stored_template(spec: &Value) -> Value {
    match spec.get(RUN_AS_KEY).and_then(RunAs::from_json) {
        Some(run_as) => run_as.template,
        None => {
            template_of(spec.pointer("/templateInfo/entity/metadata").cloned().unwrap_or_else(|| json!({})))
        }
    }
}

/// `template` without the parameter pages and steps `access` may not read
/// (`scaffolder.template.parameter.read`, `scaffolder.template.step.read`): the form never
/// shows those pages, values are checked against the other pages only, and a task never runs
/// those steps. A single parameter object that may not be read leaves no parameters.
pub fn authorized_parts(access: &Access, template: &Value) -> Value {
    if !access.enforces() {
        return template.clone();
    }
    let mut authorized = template.clone();
    let parameters = access.filter(&SCAFFOLDER_TEMPLATE_PARAMETER_READ);
    let readable_page = |part: &Value| parameters.allows(Resource::TemplatePart { template, part });
    if let Some(spec) = authorized.get_mut("spec").and_then(Value::as_object_mut) {
        match spec.get_mut("parameters") {
            Some(Value::Array(pages)) => pages.retain(|page| !page.is_object() || readable_page(page)),
            Some(page @ Value::Object(_)) if !readable_page(page) => {
                spec.remove("parameters");
            }
            _ => {}
        }
        let steps = access.filter(&SCAFFOLDER_TEMPLATE_STEP_READ);
        if let Some(Value::Array(list)) = spec.get_mut("steps") {
            list.retain(|step| steps.allows(Resource::TemplatePart { template, part: step }));
        }
    }
    authorized
}

/// The tasks matching `query` that `access` may read (`scaffolder.task.read`), and how many
/// there are in all. When the policies read the task, every task matching the rest of the
/// query is read and filtered before `limit` and `offset` apply, so the total and the pages
/// count readable tasks only; otherwise one decision covers all tasks.
pub async fn readable_tasks(
    tasks: &TaskService,
    access: &Access,
    query: &TaskQuery,
) -> Result<(Vec<TaskRecord>, u64), TaskError> {
    let filter = access.filter(&SCAFFOLDER_TASK_READ);
    if !filter.reads_resource() {
        // Any task stands for all of them when the policies do not look at it.
        return if filter.allows(Resource::Task(&json!({"id": ""}))) {
            tasks.list(query).await
        } else {
            Ok((Vec::new(), 0))
        };
    }
    let everything = TaskQuery { limit: None, offset: None, ..query.clone() };
    let (all, _) = tasks.list(&everything).await?;
    let readable: Vec<TaskRecord> = all
        .into_iter()
        .filter(|task| filter.allows(Resource::Task(&crate::routes::serialize_task(task))))
        .collect();
    let total = readable.len() as u64;
    let offset = usize::try_from(query.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = query.limit.map_or(usize::MAX, |limit| usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((readable.into_iter().skip(offset).take(limit).collect(), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_as_round_trips_each_kind_of_principal() {
        let template = json!({"apiVersion": TEMPLATE_API_VERSION, "kind": "Template",
            "metadata": {"name": "t", "annotations": {"a": "b"}},
            "spec": {"owner": "team-a", "type": "service", "steps": [{"action": "debug:log"}]}});
        let principals = [
            Principal::User(UserPrincipal {
                user_entity_ref: "user:default/jane".into(),
                ownership_entity_refs: vec!["user:default/jane".into(), "group:default/team-a".into()],
                expires_at: 0,
            }),
            Principal::Service(ServicePrincipal {
                subject: "ci-bot".into(),
                access_restrictions: Some(AccessRestrictions {
                    permission_names: vec!["scaffolder.task.create".into()],
                    permission_actions: Vec::new(),
                }),
            }),
            Principal::None,
        ];
        for principal in principals {
            let run_as = RunAs::new(principal, &template);
            assert_eq!(run_as.template["spec"], json!({"owner": "team-a", "type": "service"}));
            assert_eq!(RunAs::from_json(&run_as.to_json()), Some(run_as));
        }
        assert_eq!(RunAs::from_json(&json!({"principal": {"type": "robot"}, "template": {}})), None);
    }

    #[test]
    fn a_task_without_run_as_is_judged_on_its_template_metadata() {
        let spec = json!({"templateInfo": {"entity": {"metadata": {"name": "t"}}}});
        assert_eq!(stored_template(&spec)["metadata"]["name"], "t");
        assert_eq!(stored_template(&spec)["kind"], "Template");
    }
}
