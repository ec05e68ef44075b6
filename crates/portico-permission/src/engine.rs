//! The policy engine: loads Cedar policy files, validates them against the schema, and decides.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityTypeName, EntityUid, PolicyId, PolicySet, Request,
    ValidationMode, Validator,
};
use miette::Diagnostic;

use crate::permission::{ALL, Permission};
use crate::principal::Principal;
use crate::resource::{Described, EntityProjection, Resource};
use crate::slice::{ActionSlice, Needs};
use crate::vocabulary::{PARSED_SCHEMA, TYPES, uid};

/// The answer to one permission check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Denied; `reason` names the forbidding policy, or says that no policy permits.
    Deny {
        reason: String,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    fn deny(reason: impl Into<String>) -> Decision {
        Decision::Deny { reason: reason.into() }
    }
}

/// Why policies could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// One entry per syntax or validation error, each pinned to its file and position.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<PolicyProblem> },
}

/// One error in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The file (or the name given to `from_text`).
    pub origin: String,
    /// 1-based line and column of the offending text, when Cedar points at some.
    pub position: Option<(usize, usize)>,
    /// Cedar's message, with its hint when it has one.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// Decides permission checks. Cheap to clone (the loaded policies are shared).
#[derive(Debug, Clone)]
pub struct PolicyEngine {
    /// `None` allows everything: permissions disabled, or enabled without policy files.
    policies: Option<Arc<Policies>>,
}

struct Policies {
    /// The policies that can apply to each permission Portico knows, by permission name.
    slices: HashMap<&'static str, ActionSlice>,
    /// Where each policy was written, for deny reasons.
    origins: HashMap<PolicyId, String>,
    /// The schema's actions with their groups; a request needs its action's entity.
    actions: Entities,
    authorizer: Authorizer,
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policies").field("origins", &self.origins).finish()
    }
}

impl PolicyEngine {
    /// Allows every check, as Backstage's allow-all policy does.
    pub fn allow_all() -> Self {
        PolicyEngine { policies: None }
    }

    /// The engine for Portico's settings: `permission.enabled` false allows everything (plugins
    /// skip checks, as in Backstage); enabled without policy files is the allow-all policy.
    pub fn from_settings(enabled: bool, policy_files: &[PathBuf]) -> Result<Self, PolicyError> {
        if enabled { Self::from_files(policy_files) } else { Ok(Self::allow_all()) }
    }

    /// Reads, parses and validates policy files; no files means allow-all.
    pub fn from_files<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<Self, PolicyError> {
        let mut sources = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path)
                .map_err(|source| PolicyError::Read { path: path.to_owned(), source })?;
            sources.push((path.display().to_string(), text));
        }
        if sources.is_empty() {
            return Ok(Self::allow_all());
        }
        Self::from_sources(&sources)
    }

    /// Parses and validates the policies of one text; `origin` names it in errors and reasons.
    pub fn from_text(origin: &str, text: &str) -> Result<Self, PolicyError> {
        Self::from_sources(&[(origin.to_owned(), text.to_owned())])
    }

    /// Parses and validates several policy texts as one policy set: `(origin, text)` pairs.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Self, PolicyError> {
        let mut set = PolicySet::new();
        let mut origins = HashMap::new();
        let mut problems = Vec::new();
        // Which source each policy came from, to place validation errors.
        let mut texts: HashMap<PolicyId, usize> = HashMap::new();
        for (index, (origin, text)) in sources.iter().enumerate() {
            let parsed = match PolicySet::from_str(text) {
                Ok(parsed) => parsed,
                Err(errors) => {
                    problems.extend(errors.iter().map(|error| problem(origin, text, error)));
                    continue;
                }
            };
            for template in parsed.templates() {
                let position = text.find(&template.to_string()).map(|at| position(text, at));
                problems.push(PolicyProblem {
                    origin: origin.clone(),
                    position,
                    message: "policy templates (with ?principal or ?resource slots) are not supported; \
                              write the policy with the entities it applies to"
                        .to_owned(),
                });
            }
            // Cedar numbers the policies of a text `policy0`, `policy1`, … in order of appearance.
            let mut policies: Vec<_> = parsed.policies().collect();
            policies.sort_by_key(|policy| {
                policy.id().to_string().strip_prefix("policy").and_then(|n| n.parse::<usize>().ok())
            });
            let mut searched_from = 0;
            for policy in policies {
                let written = policy.to_string();
                let at =
                    text[searched_from..].find(&written).map_or(searched_from, |found| searched_from + found);
                searched_from = at + written.len();
                let (line, column) = position(text, at);
                let place = format!("{origin}:{line}:{column}");
                let id = PolicyId::new(&place);
                let described = match policy.annotation("id") {
                    Some(name) => format!("policy \"{name}\" ({place})"),
                    None => format!("the policy at {place}"),
                };
                origins.insert(id.clone(), described);
                texts.insert(id.clone(), index);
                if let Err(error) = set.add(policy.new_id(id)) {
                    problems.push(PolicyProblem {
                        origin: origin.clone(),
                        position: Some((line, column)),
                        message: error.to_string(),
                    });
                }
            }
        }
        if problems.is_empty() {
            let validation = Validator::new(PARSED_SCHEMA.clone()).validate(&set, ValidationMode::Strict);
            for error in validation.validation_errors() {
                let (origin, text) = &sources[texts[error.policy_id()]];
                problems.push(problem(origin, text, error));
            }
        }
        if !problems.is_empty() {
            return Err(PolicyError::Invalid { problems });
        }
        let schema_problem = |message: String| PolicyError::Invalid {
            problems: vec![PolicyProblem { origin: "schema".to_owned(), position: None, message }],
        };
        let actions = PARSED_SCHEMA.action_entities().map_err(|e| schema_problem(e.to_string()))?;
        let mut slices = HashMap::new();
        for permission in ALL {
            let slice = ActionSlice::new(&set, &uid(&TYPES.action, permission.name), &actions)
                .map_err(schema_problem)?;
            slices.insert(permission.name, slice);
        }
        let policies = Policies { slices, origins, actions, authorizer: Authorizer::new() };
        Ok(PolicyEngine { policies: Some(Arc::new(policies)) })
    }

    /// How the policies for `permission` tell catalog entities apart: entities of one
    /// [`EntityClass`] always get the same decision, whoever asks. A catalog keeps its
    /// entities grouped by class and decides once per class to filter a list inside its query.
    /// `None` when the policies never look at the entity (one decision covers them all).
    pub fn entity_classifier(&self, permission: &Permission) -> Option<EntityClassifier> {
        let needs = &self.policies.as_ref()?.slices.get(permission.name)?.needs;
        needs.resource_dependent().then(|| EntityClassifier { needs: needs.clone() })
    }

    /// Whether checks can ever deny: false when permissions are disabled or allow-all.
    pub fn enforces(&self) -> bool {
        self.policies.is_some()
    }

    /// Decides one check. `resource` is `None` for a basic check; a resource permission without
    /// a resource is denied (a missing resource never reveals anything).
    pub fn authorize(
        &self,
        principal: &Principal,
        permission: &Permission,
        resource: Option<Resource<'_>>,
    ) -> Decision {
        self.for_principal(principal, permission).decide(resource)
    }

    /// Prepares many checks of one permission for one principal (e.g. filtering a list): the
    /// principal's and the action's entities are built once, only the policies that can apply
    /// to the permission are evaluated, a catalog entity is reduced to the attributes those
    /// policies read, and entities that look alike to them share one evaluation. When they do
    /// not look at the resource at all, the check is decided once.
    pub fn for_principal(&self, principal: &Principal, permission: &Permission) -> PreparedCheck<'_> {
        let Some(policies) = &self.policies else {
            return PreparedCheck { inner: Prepared::Always(Decision::Allow) };
        };
        match Prepared::cedar(policies, principal, permission) {
            Ok(prepared) => PreparedCheck { inner: prepared },
            Err(reason) => PreparedCheck { inner: Prepared::Always(Decision::deny(reason)) },
        }
    }
}

/// Reduces catalog entities to what the policies of one permission read of them.
#[derive(Debug, Clone)]
pub struct EntityClassifier {
    needs: Needs,
}

impl EntityClassifier {
    /// The class of an entity as the catalog serves it; an entity without kind or name has
    /// none (and is denied when checked).
    pub fn classify(&self, entity: &serde_json::Value) -> Option<EntityClass> {
        EntityProjection::of(entity, &self.needs).ok().map(EntityClass)
    }
}

/// Catalog entities that look alike to the policies of one permission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EntityClass(EntityProjection);

/// Checks of one permission for one principal; see [`PolicyEngine::for_principal`].
pub struct PreparedCheck<'e> {
    inner: Prepared<'e>,
}

enum Prepared<'e> {
    Always(Decision),
    Cedar(Box<CedarCheck<'e>>),
}

struct CedarCheck<'e> {
    policies: &'e Policies,
    slice: &'e ActionSlice,
    permission: Permission,
    principal: EntityUid,
    described: String,
    action: EntityUid,
    /// The resource types the action applies to, from the schema.
    accepted: Vec<EntityTypeName>,
    /// When the policies do not look at the resource: the decision for each accepted type,
    /// made at its first use.
    per_type: Vec<OnceLock<Decision>>,
    /// The action and the principal: every request's entities but the resource.
    entities: Entities,
    /// Decisions already made, by what the policies read of the entity.
    memo: Mutex<HashMap<EntityProjection, Decision>>,
}

/// How many entity decisions a prepared check remembers: enough for the distinct owner and
/// label combinations of a large catalog, small enough to stay a few hundred kilobytes.
const MEMO_CAPACITY: usize = 4096;

impl<'e> Prepared<'e> {
    fn cedar(
        policies: &'e Policies,
        principal: &Principal,
        permission: &Permission,
    ) -> Result<Prepared<'e>, String> {
        let action = uid(&TYPES.action, permission.name);
        let action_entity = policies
            .actions
            .get(&action)
            .cloned()
            .ok_or_else(|| format!("{} is not an action of the schema", permission.name))?;
        let principal_entity = principal.to_entity()?;
        let principal_uid = principal_entity.uid();
        let entities = Entities::from_entities([action_entity, principal_entity], None)
            .map_err(|e| format!("cannot describe {}: {e}", principal.describe()))?;
        let accepted: Vec<EntityTypeName> =
            PARSED_SCHEMA.resources_for_action(&action).into_iter().flatten().cloned().collect();
        let slice =
            policies.slices.get(permission.name).ok_or_else(|| format!("{permission} is not sliced"))?;
        Ok(Prepared::Cedar(Box::new(CedarCheck {
            policies,
            slice,
            per_type: accepted.iter().map(|_| OnceLock::new()).collect(),
            permission: *permission,
            principal: principal_uid,
            described: principal.describe(),
            action,
            accepted,
            entities,
            memo: Mutex::new(HashMap::new()),
        })))
    }
}

impl PreparedCheck<'_> {
    /// Decides the check for one resource (`None` for a basic check).
    pub fn decide(&self, resource: Option<Resource<'_>>) -> Decision {
        match &self.inner {
            Prepared::Always(decision) => decision.clone(),
            Prepared::Cedar(check) => check.decide(resource),
        }
    }

    /// Whether the decision can depend on the resource. When it cannot, a list is allowed or
    /// denied as a whole, and a caller holding entities as JSON text need not parse them.
    pub fn reads_resource(&self) -> bool {
        match &self.inner {
            Prepared::Always(_) => false,
            Prepared::Cedar(check) => check.slice.needs.resource_dependent(),
        }
    }

    /// Decides for every catalog entity of `class` (see [`PolicyEngine::entity_classifier`]);
    /// [`EntityClass::default`] stands for any entity when the policies do not look at it.
    pub fn decide_class(&self, class: &EntityClass) -> Decision {
        match &self.inner {
            Prepared::Always(decision) => decision.clone(),
            Prepared::Cedar(check) if !check.slice.needs.resource_dependent() => {
                check.decide(Some(Resource::Entity(&serde_json::Value::Null)))
            }
            Prepared::Cedar(check) => check.decide_entity(class.0.clone()),
        }
    }

    /// Whether the check allows this resource; for filtering lists.
    pub fn allows(&self, resource: Resource<'_>) -> bool {
        self.decide(Some(resource)).is_allowed()
    }
}

impl CedarCheck<'_> {
    fn decide(&self, resource: Option<Resource<'_>>) -> Decision {
        let resource_type = match &resource {
            Some(resource) => resource.type_name(),
            None if self.accepted.contains(&TYPES.plugin) => &TYPES.plugin,
            None => return Decision::deny(format!("{} needs a resource to be checked", self.permission)),
        };
        let Some(accepted) = self.accepted.iter().position(|accepted| accepted == resource_type) else {
            return Decision::deny(format!("{} is not checked against a {resource_type}", self.permission));
        };
        if !self.slice.needs.resource_dependent() {
            let decision = self.per_type[accepted].get_or_init(|| {
                let stand_in = uid(resource_type, self.permission.plugin());
                self.evaluate(stand_in.clone(), vec![Entity::with_uid(stand_in)])
            });
            return decision.clone();
        }
        let Some(resource) = resource else {
            return self.evaluate(uid(&TYPES.plugin, self.permission.plugin()), Vec::new());
        };
        match resource.describe(&self.slice.needs) {
            Err(reason) => Decision::deny(reason),
            Ok(Described::Entities(resource_uid, entities)) => self.evaluate(resource_uid, entities),
            Ok(Described::Entity(projection)) => self.decide_entity(projection),
        }
    }

    /// Decides for a catalog entity, once per distinct projection (while the memo has room).
    fn decide_entity(&self, projection: EntityProjection) -> Decision {
        if let Some(decision) = self.memo.lock().unwrap_or_else(PoisonError::into_inner).get(&projection) {
            return decision.clone();
        }
        let decision = match projection.to_entity() {
            Ok(entity) => self.evaluate(entity.uid(), vec![entity]),
            Err(reason) => Decision::deny(reason),
        };
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        if memo.len() < MEMO_CAPACITY {
            memo.insert(projection, decision.clone());
        }
        decision
    }

    /// Asks Cedar, with the slice's policies.
    fn evaluate(&self, resource_uid: EntityUid, resource_entities: Vec<Entity>) -> Decision {
        let entities = match self.entities.clone().add_entities(resource_entities, None) {
            Ok(entities) => entities,
            Err(e) => return Decision::deny(format!("cannot describe {resource_uid}: {e}")),
        };
        let request = match Request::new(
            self.principal.clone(),
            self.action.clone(),
            resource_uid,
            Context::empty(),
            None,
        ) {
            Ok(request) => request,
            Err(e) => return Decision::deny(e.to_string()),
        };
        let response = self.policies.authorizer.is_authorized(&request, &self.slice.set, &entities);
        if response.decision() == cedar_policy::Decision::Allow {
            return Decision::Allow;
        }
        let origins = &self.policies.origins;
        let forbidding: Vec<&str> =
            response.diagnostics().reason().filter_map(|id| origins.get(id)).map(String::as_str).collect();
        let mut reason = if forbidding.is_empty() {
            format!("no policy permits {} for {}", self.permission, self.described)
        } else {
            format!("{} for {} is forbidden by {}", self.permission, self.described, forbidding.join(", "))
        };
        for error in response.diagnostics().errors() {
            reason.push_str(&format!("; {error}"));
        }
        Decision::deny(reason)
    }
}

/// A Cedar error as a problem at the position of its first label.
fn problem(origin: &str, text: &str, error: &(impl Diagnostic + fmt::Display)) -> PolicyProblem {
    let offset = error.labels().and_then(|mut labels| labels.next()).map(|label| label.offset());
    let mut message = error.to_string();
    // Validation messages start by naming the policy, which the position already does.
    if let Some(rest) = message.strip_prefix("for policy `").and_then(|rest| rest.split_once("`, ")) {
        message = rest.1.to_owned();
    }
    if let Some(help) = error.help() {
        message.push_str(&format!(" ({help})"));
    }
    PolicyProblem { origin: origin.to_owned(), position: offset.map(|at| position(text, at)), message }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}
