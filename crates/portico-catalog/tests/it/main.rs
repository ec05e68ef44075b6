mod predicate_facets;
mod predicate_query;
mod read_entities;
mod read_facets;
mod read_index;
mod read_query;
mod read_single;
mod read_support;
