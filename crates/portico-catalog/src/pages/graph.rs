//! The Dependencies tab: the entity's relation graph, built in one request from the index
//! (breadth-first over the chosen relation types to the chosen depth), laid out by
//! [`layout`](super::layout) and drawn as SVG on the server. Every node links to its entity page.

use std::collections::HashMap;
use std::fmt::Write as _;

use portico_web::{Markup, Query, escape};
use serde_json::Value;

use super::entity::Subject;
use super::layout::{self, NODE_HEIGHT, NODE_WIDTH};
use super::relations::relations_of;
use super::{CatalogPages, EntitySummary, RefLink};
use portico_plugin::Access;

use crate::index::{ReadIndex, Readable};

/// The most nodes drawn; the rest of the walk is cut off with a note.
pub const MAX_NODES: usize = 150;
/// Depths offered.
const DEPTHS: [usize; 3] = [1, 2, 3];
/// Edge labels are drawn up to this many edges; beyond, they would bury the drawing and
/// each edge keeps its label as a tooltip only.
const MAX_LABELLED_EDGES: usize = 40;

/// Relation pairs `(forward, inverse, label)`: the graph draws each pair once, in the forward
/// direction, whichever side declared it. The query parameter names the forward type.
pub const RELATION_PAIRS: [(&str, &str, &str); 7] = [
    ("dependsOn", "dependencyOf", "depends on"),
    ("providesApi", "apiProvidedBy", "provides"),
    ("consumesApi", "apiConsumedBy", "consumes"),
    ("partOf", "hasPart", "part of"),
    ("ownedBy", "ownerOf", "owned by"),
    ("memberOf", "hasMember", "member of"),
    ("childOf", "parentOf", "child of"),
];

/// Kinds drawn with their own colour and shape, in legend order.
const KINDS: [&str; 9] =
    ["component", "api", "system", "domain", "resource", "group", "user", "location", "template"];

/// What the graph shows: how deep to walk and along which relation pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphOptions {
    pub depth: usize,
    /// Indexes into [`RELATION_PAIRS`].
    pub pairs: Vec<usize>,
}

impl GraphOptions {
    /// Reads `depth` (1–3, default 1) and `relations` (forward type names; default all).
    pub fn parse(query: &Query) -> GraphOptions {
        let depth =
            query.one("depth").and_then(|d| d.parse().ok()).filter(|d| DEPTHS.contains(d)).unwrap_or(1);
        let chosen = query.all("relations");
        let pairs: Vec<usize> = RELATION_PAIRS
            .iter()
            .enumerate()
            .filter(|(_, (forward, _, _))| chosen.iter().any(|c| c.eq_ignore_ascii_case(forward)))
            .map(|(i, _)| i)
            .collect();
        let pairs = if pairs.is_empty() { (0..RELATION_PAIRS.len()).collect() } else { pairs };
        GraphOptions { depth, pairs }
    }
}

/// A node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    pub entity_ref: String,
    pub kind: String,
    pub label: String,
    pub href: String,
    /// Found in the catalog (a dangling relation target is drawn dashed).
    pub present: bool,
}

/// The walked graph: nodes (the subject first), edges `(from, to, pair index)`, and whether
/// the walk was cut off at [`MAX_NODES`].
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<(usize, usize, usize)>,
    pub truncated: bool,
}

/// Which pair a relation type belongs to and whether it points forward.
fn pair_of(relation: &str) -> Option<(usize, bool)> {
    RELATION_PAIRS.iter().enumerate().find_map(|(i, (forward, inverse, _))| {
        if relation.eq_ignore_ascii_case(forward) {
            Some((i, true))
        } else if relation.eq_ignore_ascii_case(inverse) {
            Some((i, false))
        } else {
            None
        }
    })
}

fn node_for(entity_ref: &str, json: Option<&Value>) -> GraphNode {
    match json {
        Some(json) => {
            let summary = EntitySummary::from_json(json);
            GraphNode {
                entity_ref: entity_ref.to_owned(),
                kind: summary.kind.to_lowercase(),
                label: summary.display_name().to_owned(),
                href: summary.path(),
                present: true,
            }
        }
        None => {
            let link = RefLink::parse(entity_ref, "component", "default");
            GraphNode {
                entity_ref: entity_ref.to_owned(),
                kind: entity_ref.split(':').next().unwrap_or_default().to_owned(),
                label: entity_ref.rsplit('/').next().unwrap_or(entity_ref).to_owned(),
                href: link.map_or_else(|| "/catalog".to_owned(), |l| l.href),
                present: false,
            }
        }
    }
}

/// Walks the index breadth-first from `root` (its ref and JSON).
/// Entities the viewer may not read are drawn like missing ones (their ref, never expanded).
pub fn walk(
    index: &ReadIndex,
    readable: &Readable,
    root_ref: &str,
    root: &Value,
    options: &GraphOptions,
) -> Graph {
    let mut nodes = vec![node_for(root_ref, Some(root))];
    let mut ids: HashMap<String, usize> = HashMap::from([(root_ref.to_owned(), 0)]);
    let mut edges: Vec<(usize, usize, usize)> = Vec::new();
    let mut seen_edges = std::collections::HashSet::new();
    let mut truncated = false;
    let mut frontier: Vec<(usize, Value)> = vec![(0, root.clone())];
    for _ in 0..options.depth {
        let mut next = Vec::new();
        for (from, json) in frontier {
            for relation in relations_of(&json) {
                let Some((pair, forward)) = pair_of(&relation.kind) else { continue };
                if !options.pairs.contains(&pair) {
                    continue;
                }
                let to = match ids.get(&relation.target) {
                    Some(&id) => id,
                    None => {
                        if nodes.len() >= MAX_NODES {
                            truncated = true;
                            continue;
                        }
                        let body: Option<Value> = index
                            .by_ref(&relation.target)
                            .filter(|v| readable.contains(v.ordinal))
                            .and_then(|v| serde_json::from_str(&v.body()).ok());
                        let id = nodes.len();
                        nodes.push(node_for(&relation.target, body.as_ref()));
                        ids.insert(relation.target.clone(), id);
                        if let Some(body) = body {
                            next.push((id, body));
                        }
                        id
                    }
                };
                let edge = if forward { (from, to, pair) } else { (to, from, pair) };
                if edge.0 != edge.1 && seen_edges.insert(edge) {
                    edges.push(edge);
                }
            }
        }
        frontier = next;
    }
    Graph { nodes, edges, truncated }
}

/// The SVG drawing of a graph. Node 0 (the subject) is highlighted.
pub fn render_svg(graph: &Graph) -> String {
    let plain: Vec<(usize, usize)> = graph.edges.iter().map(|&(a, b, _)| (a, b)).collect();
    let placed = layout::layout(graph.nodes.len(), &plain);
    let mut svg = String::with_capacity(512 + graph.nodes.len() * 400 + graph.edges.len() * 300);
    let _ = write!(
        svg,
        "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-labelledby=\"graph-title\"><title id=\"graph-title\">Relations of {}</title>",
        escape(graph.nodes.first().map_or("", |n| n.label.as_str())),
        w = placed.width,
        h = placed.height,
    );
    svg.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path class=\"graph-arrow\" d=\"M0 0L10 5L0 10z\"/></marker></defs><g class=\"edges\">");
    let labelled = graph.edges.len() <= MAX_LABELLED_EDGES;
    for &(from, to, pair) in &graph.edges {
        let (a, b) = (placed.nodes[from], placed.nodes[to]);
        let (ay, by) = (a.y + NODE_HEIGHT / 2.0, b.y + NODE_HEIGHT / 2.0);
        // Leave from the side facing the target; nodes in one column connect by a bulge.
        let (ax, bx, bend) = if b.x > a.x {
            (a.x + NODE_WIDTH, b.x, (b.x - a.x - NODE_WIDTH) / 2.0)
        } else if b.x < a.x {
            (a.x, b.x + NODE_WIDTH, -(a.x - b.x - NODE_WIDTH) / 2.0)
        } else {
            (a.x + NODE_WIDTH, b.x + NODE_WIDTH, 40.0)
        };
        let label = RELATION_PAIRS[pair].2;
        let _ = write!(
            svg,
            "<g class=\"edge\"><title>{label}</title><path d=\"M{ax:.1} {ay:.1}C{c1:.1} {ay:.1} {c2:.1} {by:.1} {bx:.1} {by:.1}\" marker-end=\"url(#arrow)\"/>",
            c1 = ax + bend,
            c2 = if b.x == a.x { bx + bend } else { bx - bend },
        );
        if labelled {
            let (mx, my) = if b.x == a.x {
                (ax + bend * 0.75 + 4.0, (ay + by) / 2.0)
            } else {
                ((ax + bx) / 2.0, (ay + by) / 2.0 - 5.0)
            };
            let _ = write!(svg, "<text class=\"edge-label\" x=\"{mx:.1}\" y=\"{my:.1}\">{label}</text>");
        }
        svg.push_str("</g>");
    }
    svg.push_str("</g><g class=\"nodes\">");
    for (i, node) in graph.nodes.iter().enumerate() {
        let p = placed.nodes[i];
        let kind = if KINDS.contains(&node.kind.as_str()) { node.kind.as_str() } else { "other" };
        let classes = format!(
            "node kind-{kind}{}{}",
            if i == 0 { " root" } else { "" },
            if node.present { "" } else { " missing" }
        );
        let label: String = if node.label.chars().count() > 22 {
            node.label.chars().take(21).chain(['…']).collect()
        } else {
            node.label.clone()
        };
        let _ = write!(
            svg,
            "<a class=\"{classes}\" href=\"{href}\" data-ref=\"{r}\"><title>{r}</title>{shape}<text class=\"node-kind\" x=\"{tx:.1}\" y=\"{ky:.1}\">{kind_label}</text><text class=\"node-label\" x=\"{tx:.1}\" y=\"{ly:.1}\">{label}</text></a>",
            href = escape(&node.href),
            r = escape(&node.entity_ref),
            shape = shape(kind, p.x, p.y),
            tx = p.x + 14.0,
            ky = p.y + 15.0,
            ly = p.y + 31.0,
            kind_label = escape(&node.kind),
            label = escape(&label),
        );
    }
    svg.push_str("</g></svg>");
    svg
}

/// The node outline: kinds differ by shape as well as colour, so the graph reads without
/// colour too.
fn shape(kind: &str, x: f64, y: f64) -> String {
    let (w, h) = (NODE_WIDTH, NODE_HEIGHT);
    match kind {
        // Hexagon-ish: APIs are interfaces.
        "api" => format!(
            "<path class=\"node-shape\" d=\"M{:.1} {y:.1}H{:.1}L{:.1} {:.1}L{:.1} {:.1}H{:.1}L{x:.1} {:.1}Z\"/>",
            x + 10.0,
            x + w - 10.0,
            x + w,
            y + h / 2.0,
            x + w - 10.0,
            y + h,
            x + 10.0,
            y + h / 2.0
        ),
        // Pills: people and teams.
        "group" | "user" => format!(
            "<rect class=\"node-shape\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{:.1}\"/>",
            h / 2.0
        ),
        // Square corners: groupings (systems, domains).
        "system" | "domain" => format!(
            "<rect class=\"node-shape\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"1\"/><rect class=\"node-inner\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"1\"/>",
            x + 3.0,
            y + 3.0,
            w - 6.0,
            h - 6.0
        ),
        _ => format!(
            "<rect class=\"node-shape\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"8\"/>"
        ),
    }
}

/// The tab: options form, drawing, legend.
pub(super) fn tab(pages: &CatalogPages, access: &Access, subject: &Subject, query: &Query) -> Markup {
    let options = GraphOptions::parse(query);
    let graph = {
        let index = pages.read();
        walk(&index, &index.readable(access), &subject.entity_ref, &subject.entity, &options)
    };
    let action = format!("{}/dependencies", subject.summary.path());
    let mut html = format!(
        "<section class=\"card graph-card\" aria-labelledby=\"graph-heading\"><div class=\"graph-head\"><h2 id=\"graph-heading\">Relations <span class=\"count\">{}</span></h2>",
        graph.nodes.len().saturating_sub(1)
    );
    let _ = write!(
        html,
        "<form class=\"graph-options\" method=\"get\" action=\"{a}\" hx-get=\"{a}\" hx-target=\"#entity-tab\" hx-select=\"#entity-tab\" hx-swap=\"outerHTML\" hx-push-url=\"true\" hx-trigger=\"change\"><label>Depth <select class=\"select\" name=\"depth\">",
        a = escape(&action)
    );
    for depth in DEPTHS {
        let _ = write!(
            html,
            "<option value=\"{depth}\"{}>{depth}</option>",
            if depth == options.depth { " selected" } else { "" }
        );
    }
    html.push_str("</select></label><fieldset class=\"relation-choice\"><legend class=\"visually-hidden\">Relations</legend>");
    for (i, (forward, _, label)) in RELATION_PAIRS.iter().enumerate() {
        let _ = write!(
            html,
            "<label class=\"chip\"><input type=\"checkbox\" name=\"relations\" value=\"{forward}\"{}> {label}</label>",
            if options.pairs.contains(&i) { " checked" } else { "" }
        );
    }
    html.push_str("</fieldset><noscript><button class=\"button\" type=\"submit\">Apply</button></noscript></form></div>");
    if graph.truncated {
        let _ = write!(
            html,
            "<p class=\"notice warn\">The graph is cut off at {MAX_NODES} entities. Choose fewer relations or a smaller depth to see the rest.</p>"
        );
    }
    if graph.nodes.len() == 1 {
        html.push_str("<p class=\"muted graph-empty\">No related entities for the chosen relations.</p>");
    }
    html.push_str("<div class=\"graph-scroll\">");
    html.push_str(&render_svg(&graph));
    html.push_str("</div><ul class=\"legend\" aria-label=\"Legend\">");
    for kind in KINDS.iter().filter(|k| graph.nodes.iter().any(|n| n.kind == **k)) {
        let _ =
            write!(html, "<li><span class=\"kind-dot kind-{kind}\" aria-hidden=\"true\"></span>{kind}</li>");
    }
    html.push_str("</ul></section>");
    Markup::trusted(html)
}

#[cfg(test)]
mod tests {
    use portico_store::FinalEntityRow;
    use serde_json::json;

    use super::*;

    fn component(name: &str, relations: &[(&str, &str)]) -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"type": "service"},
            "relations": relations.iter().map(|(t, r)| json!({"type": t, "targetRef": r})).collect::<Vec<_>>(),
        })
    }

    fn index_of(entities: &[Value]) -> ReadIndex {
        let rows = entities
            .iter()
            .enumerate()
            .map(|(i, e)| FinalEntityRow {
                entity_id: e["metadata"]["uid"].as_str().unwrap_or_default().to_owned(),
                entity_ref: format!(
                    "component:default/{}",
                    e["metadata"]["name"].as_str().unwrap_or_default()
                ),
                hash: format!("h{i}"),
                body: e.to_string(),
                change_seq: i as i64 + 1,
                updated_at: 0,
            })
            .collect();
        let mut index = ReadIndex::new();
        index.load(rows, entities.len() as i64);
        index
    }

    #[test]
    fn walks_to_the_chosen_depth_and_draws_each_pair_once() {
        let a = component("a", &[("dependsOn", "component:default/b")]);
        let b =
            component("b", &[("dependencyOf", "component:default/a"), ("dependsOn", "component:default/c")]);
        let c = component("c", &[("dependencyOf", "component:default/b")]);
        let index = index_of(&[a.clone(), b, c]);
        let one = walk(
            &index,
            &Readable::All,
            "component:default/a",
            &a,
            &GraphOptions { depth: 1, pairs: vec![0] },
        );
        assert_eq!(one.nodes.len(), 2);
        assert_eq!(one.edges, [(0, 1, 0)]);
        let two = walk(
            &index,
            &Readable::All,
            "component:default/a",
            &a,
            &GraphOptions { depth: 2, pairs: vec![0] },
        );
        let refs: Vec<&str> = two.nodes.iter().map(|n| n.entity_ref.as_str()).collect();
        assert_eq!(refs, ["component:default/a", "component:default/b", "component:default/c"]);
        assert_eq!(two.edges, [(0, 1, 0), (1, 2, 0)], "dependencyOf drawn as the same edge");
        let none = walk(
            &index,
            &Readable::All,
            "component:default/a",
            &a,
            &GraphOptions { depth: 3, pairs: vec![4] },
        );
        assert_eq!(none.nodes.len(), 1, "other relation types are not followed");
    }

    #[test]
    fn svg_has_a_link_per_node_and_a_path_per_edge_and_escapes_labels() {
        let root = component("<root>", &[]);
        let graph = Graph {
            nodes: vec![
                node_for("component:default/<root>", Some(&root)),
                node_for("api:default/x\"y", None),
            ],
            edges: vec![(0, 1, 1)],
            truncated: false,
        };
        let svg = render_svg(&graph);
        assert_eq!(svg.matches("<a class=\"node").count(), 2);
        assert_eq!(svg.matches("marker-end=").count(), 1);
        assert!(!svg.contains("<root>") && svg.contains("&lt;root&gt;"), "{svg}");
        assert!(svg.contains("href=\"/catalog/default/api/x%22y\""), "{svg}");
    }

    /// An entity with 200 relations: the walk is capped and the drawing stays deterministic.
    /// Timing is not asserted here (test machines vary); the walk, layout and drawing of this
    /// graph are meant to stay well under 50 ms in a release build.
    #[test]
    fn two_hundred_relations_are_capped_and_rendered() {
        let relations: Vec<(String, String)> =
            (0..200).map(|i| ("dependsOn".to_owned(), format!("component:default/n{i:03}"))).collect();
        let borrowed: Vec<(&str, &str)> = relations.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let hub = component("hub", &borrowed);
        let mut all = vec![hub.clone()];
        all.extend(
            (0..200).map(|i| component(&format!("n{i:03}"), &[("dependencyOf", "component:default/hub")])),
        );
        let index = index_of(&all);
        let graph = walk(
            &index,
            &Readable::All,
            "component:default/hub",
            &hub,
            &GraphOptions::parse(&Query::default()),
        );
        assert_eq!(graph.nodes.len(), MAX_NODES);
        assert!(graph.truncated);
        assert_eq!(graph.edges.len(), MAX_NODES - 1);
        let svg = render_svg(&graph);
        assert_eq!(svg.matches("<a class=\"node").count(), MAX_NODES);
        assert_eq!(svg, render_svg(&graph));
    }

    #[test]
    fn options_default_to_depth_one_and_every_relation() {
        let options = GraphOptions::parse(&Query::parse(Some("depth=9&relations=bogus")));
        assert_eq!(options, GraphOptions { depth: 1, pairs: (0..RELATION_PAIRS.len()).collect() });
        let options =
            GraphOptions::parse(&Query::parse(Some("depth=3&relations=providesApi&relations=ownedBy")));
        assert_eq!(options, GraphOptions { depth: 3, pairs: vec![1, 4] });
    }
}
