//! A directed layered graph layout, drawn left to right: the relation graph of the entity
//! page's Dependencies tab.
//!
//! 1. Cycles are broken by reversing the edges a depth-first search finds going back.
//! 2. Layers: longest path from the sources (every edge points to a later layer).
//! 3. Order inside a layer: a few sweeps of the barycenter heuristic (each node moves to the
//!    mean position of its neighbours in the previous layer), which removes most crossings.
//! 4. Coordinates: layers are columns; a layer taller than [`MAX_ROWS`] wraps into several
//!    columns so that a hub with hundreds of neighbours stays readable.
//!
//! Everything is `O((V + E) · sweeps)` and deterministic: ties keep input order.

/// Node box width in pixels.
pub const NODE_WIDTH: f64 = 190.0;
/// Node box height in pixels.
pub const NODE_HEIGHT: f64 = 40.0;
/// Horizontal gap between columns (room for edges and their labels).
const COLUMN_GAP: f64 = 110.0;
/// Vertical gap between nodes of one column.
const ROW_GAP: f64 = 18.0;
/// Margin around the drawing.
pub const MARGIN: f64 = 20.0;
/// The most nodes stacked in one column before a layer wraps into another column.
pub const MAX_ROWS: usize = 16;
/// Barycenter sweeps (down and up count as one each).
const SWEEPS: usize = 4;

/// Where a node is drawn: the top-left corner of its box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    pub x: f64,
    pub y: f64,
    /// The node's layer (0 = sources).
    pub layer: usize,
}

/// The result: one position per input node (same order) and the drawing's size.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub nodes: Vec<Placed>,
    pub width: f64,
    pub height: f64,
}

/// Lays out `node_count` nodes with directed `edges` (`(from, to)` indexes; self-loops and
/// out-of-range indexes are ignored).
pub fn layout(node_count: usize, edges: &[(usize, usize)]) -> Layout {
    let edges: Vec<(usize, usize)> =
        edges.iter().copied().filter(|&(a, b)| a != b && a < node_count && b < node_count).collect();
    let acyclic = break_cycles(node_count, &edges);
    let layers = longest_path_layers(node_count, &acyclic);
    let order = order_layers(node_count, &acyclic, &layers);
    place(node_count, &layers, &order)
}

/// The edges with those that close a cycle reversed (found by an iterative depth-first search
/// in input order).
fn break_cycles(n: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(a, _)) in edges.iter().enumerate() {
        out_edges[a].push(i);
    }
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; n];
    let mut reversed = vec![false; edges.len()];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&edge) = out_edges[node].get(*next) {
                *next += 1;
                let target = edges[edge].1;
                match state[target] {
                    0 => {
                        state[target] = 1;
                        stack.push((target, 0));
                    }
                    1 => reversed[edge] = true,
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    edges.iter().zip(reversed).map(|(&(a, b), r)| if r { (b, a) } else { (a, b) }).collect()
}

/// Layer of each node: the length of the longest path reaching it (Kahn's topological order).
fn longest_path_layers(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        out[a].push(b);
        indegree[b] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut ready: std::collections::VecDeque<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    while let Some(node) = ready.pop_front() {
        for &next in &out[node] {
            layer[next] = layer[next].max(layer[node] + 1);
            indegree[next] -= 1;
            if indegree[next] == 0 {
                ready.push_back(next);
            }
        }
    }
    layer
}

/// The nodes of each layer, in drawing order.
fn order_layers(n: usize, edges: &[(usize, usize)], layers: &[usize]) -> Vec<Vec<usize>> {
    let depth = layers.iter().copied().max().map_or(0, |m| m + 1);
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for node in 0..n {
        order[layers[node]].push(node);
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        succs[a].push(b);
        preds[b].push(a);
    }
    let mut position = vec![0f64; n];
    let record = |order: &Vec<Vec<usize>>, position: &mut Vec<f64>| {
        for layer in order {
            for (i, &node) in layer.iter().enumerate() {
                position[node] = i as f64;
            }
        }
    };
    record(&order, &mut position);
    for sweep in 0..SWEEPS {
        let downward = sweep % 2 == 0;
        let layer_ids: Vec<usize> =
            if downward { (1..depth).collect() } else { (0..depth.saturating_sub(1)).rev().collect() };
        for l in layer_ids {
            let neighbours = if downward { &preds } else { &succs };
            let mut keyed: Vec<(f64, usize, usize)> = order[l]
                .iter()
                .enumerate()
                .map(|(i, &node)| {
                    let near = &neighbours[node];
                    let key = if near.is_empty() {
                        position[node]
                    } else {
                        near.iter().map(|&m| position[m]).sum::<f64>() / near.len() as f64
                    };
                    (key, i, node)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            order[l] = keyed.into_iter().map(|(_, _, node)| node).collect();
            for (i, &node) in order[l].iter().enumerate() {
                position[node] = i as f64;
            }
        }
    }
    order
}

/// Coordinates: each layer is one or more columns; columns are centred vertically.
fn place(n: usize, layers: &[usize], order: &[Vec<usize>]) -> Layout {
    let mut nodes = vec![Placed { x: 0.0, y: 0.0, layer: 0 }; n];
    let tallest = order.iter().map(|l| l.len().min(MAX_ROWS)).max().unwrap_or(0);
    let column_height = |rows: usize| rows as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP;
    let height = column_height(tallest.max(1));
    let mut column = 0usize;
    for layer in order {
        let columns = layer.len().div_ceil(MAX_ROWS).max(1);
        for (c, chunk) in layer.chunks(MAX_ROWS).enumerate() {
            let x = MARGIN + (column + c) as f64 * (NODE_WIDTH + COLUMN_GAP);
            let top = MARGIN + (height - column_height(chunk.len())) / 2.0;
            for (row, &node) in chunk.iter().enumerate() {
                nodes[node] =
                    Placed { x, y: top + row as f64 * (NODE_HEIGHT + ROW_GAP), layer: layers[node] };
            }
        }
        column += columns;
    }
    let width = 2.0 * MARGIN + column.max(1) as f64 * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP;
    Layout { nodes, width, height: height + 2.0 * MARGIN }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: &Placed, b: &Placed) -> bool {
        a.x < b.x + NODE_WIDTH && b.x < a.x + NODE_WIDTH && a.y < b.y + NODE_HEIGHT && b.y < a.y + NODE_HEIGHT
    }

    fn assert_no_overlap(layout: &Layout) {
        for (i, a) in layout.nodes.iter().enumerate() {
            for b in &layout.nodes[i + 1..] {
                assert!(!overlaps(a, b), "{a:?} overlaps {b:?}");
            }
            assert!(a.x + NODE_WIDTH <= layout.width && a.y + NODE_HEIGHT <= layout.height, "{a:?} inside");
        }
    }

    #[test]
    fn edges_point_to_later_layers_and_nodes_do_not_overlap() {
        // 0 → 1 → 2, 0 → 2, 3 → 1
        let edges = [(0, 1), (1, 2), (0, 2), (3, 1)];
        let layout = layout(4, &edges);
        for &(a, b) in &edges {
            assert!(layout.nodes[a].layer < layout.nodes[b].layer, "{a} → {b}");
            assert!(layout.nodes[a].x < layout.nodes[b].x);
        }
        assert_eq!(layout.nodes[2].layer, 2, "longest path");
        assert_no_overlap(&layout);
    }

    #[test]
    fn cycles_are_laid_out() {
        let layout = layout(3, &[(0, 1), (1, 2), (2, 0), (1, 1), (0, 9)]);
        assert_eq!(layout.nodes.len(), 3);
        assert_no_overlap(&layout);
    }

    #[test]
    fn barycenters_uncross_a_simple_crossing() {
        // Sources 0, 1; targets 2, 3 given in crossing order: 0 → 3, 1 → 2.
        let layout = layout(4, &[(0, 3), (1, 2)]);
        let (y0, y1, y2, y3) = (layout.nodes[0].y, layout.nodes[1].y, layout.nodes[2].y, layout.nodes[3].y);
        assert_eq!(y0 < y1, y3 < y2, "edges must not cross: {layout:?}");
    }

    #[test]
    fn a_hub_with_two_hundred_neighbours_wraps_into_columns() {
        let edges: Vec<(usize, usize)> = (1..=200).map(|i| (0, i)).collect();
        let layout = layout(201, &edges);
        assert_no_overlap(&layout);
        let columns: std::collections::BTreeSet<u64> = layout.nodes[1..].iter().map(|p| p.x as u64).collect();
        assert_eq!(columns.len(), 200usize.div_ceil(MAX_ROWS));
        assert!(layout.height < 2.0 * MARGIN + MAX_ROWS as f64 * (NODE_HEIGHT + ROW_GAP));
    }

    #[test]
    fn output_is_deterministic() {
        let edges: Vec<(usize, usize)> = (0..60).map(|i| (i % 7, 7 + (i * 13) % 40)).collect();
        assert_eq!(layout(47, &edges), layout(47, &edges));
    }
}
