//! [`AuditStore`] on PostgreSQL. The table's triggers refuse updates and deletes (see
//! `migrations/0004_audit_log.sql`).

use async_trait::async_trait;
use portico_store::{
    ActionFilter, AuditEntry, AuditOutcome, AuditQuery, AuditStore, NewAuditEntry, StoreError, StoreResult,
};
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::{PostgresStore, db};

/// The columns [`entry_from`] reads, in its order.
const COLUMNS: &str = "id, at, actor, action, target, outcome, details";

fn entry_from(row: &PgRow) -> StoreResult<AuditEntry> {
    let id: i64 = row.try_get(0).map_err(db)?;
    let outcome: String = row.try_get(5).map_err(db)?;
    let details: Option<String> = row.try_get(6).map_err(db)?;
    Ok(AuditEntry {
        id,
        at: row.try_get(1).map_err(db)?,
        actor: row.try_get(2).map_err(db)?,
        action: row.try_get(3).map_err(db)?,
        target: row.try_get(4).map_err(db)?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| {
            StoreError::Corrupt(format!("audit entry {id} has unknown outcome {outcome:?}"))
        })?,
        details: match details {
            None => Map::new(),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("details of audit entry {id}: {e}")))?,
        },
    })
}

/// Appends `WHERE` clauses for the query's filters.
fn push_filters<'a>(qb: &mut QueryBuilder<'a, Postgres>, query: &'a AuditQuery) {
    qb.push(" WHERE 1 = 1");
    if let Some(actor) = &query.actor {
        qb.push(" AND actor = ").push_bind(actor);
    }
    match &query.action {
        Some(ActionFilter::Exact(action)) => {
            qb.push(" AND action = ").push_bind(action);
        }
        // `starts_with` rather than LIKE: no wildcards to escape.
        Some(ActionFilter::Prefix(prefix)) => {
            qb.push(" AND starts_with(action, ").push_bind(prefix).push(")");
        }
        None => {}
    }
    if let Some(target) = &query.target {
        // The column's "C" collation makes lower() change ASCII letters only, as SQLite does;
        // the text is lowered the same way here.
        qb.push(" AND strpos(lower(target), ").push_bind(target.to_ascii_lowercase()).push(") > 0");
    }
    if let Some(outcome) = query.outcome {
        qb.push(" AND outcome = ").push_bind(outcome.as_str());
    }
    if let Some(since) = query.since {
        qb.push(" AND at >= ").push_bind(since);
    }
    if let Some(until) = query.until {
        qb.push(" AND at < ").push_bind(until);
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append(&self, entry: NewAuditEntry) -> StoreResult<i64> {
        let details = if entry.details.is_empty() {
            None
        } else {
            Some(
                serde_json::to_string(&Value::Object(entry.details))
                    .map_err(|e| StoreError::Corrupt(format!("cannot serialize JSON: {e}")))?,
            )
        };
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id",
        )
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.outcome.as_str())
        .bind(details)
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(id)
    }

    async fn list(&self, query: &AuditQuery) -> StoreResult<(Vec<AuditEntry>, u64)> {
        let mut tx = self.begin_read().await?;
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM audit_log");
        push_filters(&mut count, query);
        let total: i64 =
            count.build().fetch_one(&mut *tx).await.and_then(|row| row.try_get(0)).map_err(db)?;

        let mut select = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_log"));
        push_filters(&mut select, query);
        select.push(" ORDER BY at DESC, id DESC");
        if let Some(limit) = query.limit {
            select.push(" LIMIT ").push_bind(to_i64(limit));
        }
        select.push(" OFFSET ").push_bind(query.offset.map_or(0, to_i64));
        let rows = select.build().fetch_all(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        let entries = rows.iter().map(entry_from).collect::<StoreResult<Vec<_>>>()?;
        Ok((entries, u64::try_from(total).unwrap_or(0)))
    }
}
