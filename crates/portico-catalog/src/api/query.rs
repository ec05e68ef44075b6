//! Parsing of the query parameters shared by the read routes (filter, fields, order, paging, cursors).
