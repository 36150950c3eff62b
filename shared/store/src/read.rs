//! The repository's read side: orders by uid (one, or many in one statement), and the newest
//! orders page by page.
//!
//! An order is served from its stored canonical document (`orders.document`, migration 0003):
//! one row read by primary key, the exact JSON ingest validated, unknown fields included
//! (contract §11). Orders stored before that migration have no document; for them the same
//! statement assembles the JSON from the normalized tables inside PostgreSQL, and it is decoded
//! with the same model ingest used, so either way the read API serves the canonical JSON.

use super::{write::split_nanos, OrderRepository, StoreError};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use order_model::{Order, ValidOrder};
use serde::{Serialize, Serializer};
use std::sync::LazyLock;

/// `date_created` as RFC 3339 in UTC with all nine fractional digits: microseconds from
/// `timestamptz` plus the stored sub-microsecond remainder. Rendered with `to_char` rather than
/// `to_json` so the session time zone does not matter and year 0000 (which PostgreSQL calls
/// 1 BC) keeps its number; the model then re-renders it canonically.
const DATE_SQL: &str = "CASE WHEN o.date_created < '0001-01-01T00:00:00Z' \
    THEN '0000' || to_char(o.date_created AT TIME ZONE 'UTC', '-MM-DD\"T\"HH24:MI:SS.US') \
    ELSE to_char(o.date_created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') END \
    || lpad(o.date_created_ns::text, 3, '0') || 'Z'";

/// For each uid in `$1` (a text array) that is stored: the uid and its document (NULL for an
/// order stored before migration 0003). No row for a uid: no such order. One uid or many, it is
/// one statement: an index probe per uid.
///
/// Kept apart from [`ASSEMBLE_SQL`] on purpose: PostgreSQL re-plans a prepared statement for
/// each execution while it judges custom plans cheaper than the generic one, and planning the
/// assembly's nested `json_build_object`s cost more than the read itself (measured: PostgreSQL's
/// CPU per order on the miss path fell from ~90 to ~36 µs once the hot statement was this one).
const GET_SQL: &str = "SELECT order_uid, document::text FROM orders WHERE order_uid = ANY($1)";

/// For each uid in `$1` stored without a document: the uid and the order assembled from the
/// normalized tables, items in line order. Run only when [`GET_SQL`] found such orders.
static ASSEMBLE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT o.order_uid, json_build_object(
            'order_uid', o.order_uid, 'track_number', o.track_number, 'entry', o.entry,
            'delivery', json_build_object(
                'name', d.name, 'phone', d.phone, 'zip', d.zip, 'city', d.city,
                'address', d.address, 'region', d.region, 'email', d.email),
            'payment', json_build_object(
                'transaction', p.transaction, 'request_id', p.request_id,
                'currency', p.currency, 'provider', p.provider, 'amount', p.amount,
                'payment_dt', p.payment_dt, 'bank', p.bank, 'delivery_cost', p.delivery_cost,
                'goods_total', p.goods_total, 'custom_fee', p.custom_fee),
            'items', COALESCE((
                SELECT json_agg(json_build_object(
                    'chrt_id', i.chrt_id, 'track_number', i.track_number, 'price', i.price,
                    'rid', i.rid, 'name', i.name, 'sale', i.sale, 'size', i.size,
                    'total_price', i.total_price, 'nm_id', i.nm_id, 'brand', i.brand,
                    'status', i.status) ORDER BY i.line_no)
                FROM items i WHERE i.order_uid = o.order_uid), '[]'::json),
            'locale', o.locale, 'internal_signature', o.internal_signature,
            'customer_id', o.customer_id, 'delivery_service', o.delivery_service,
            'shardkey', o.shardkey, 'sm_id', o.sm_id, 'date_created', {DATE_SQL},
            'oof_shard', o.oof_shard)::text
        FROM orders o
        JOIN deliveries d ON d.order_uid = o.order_uid
        JOIN payments p ON p.order_uid = o.order_uid
        WHERE o.order_uid = ANY($1)"
    )
});

/// What the database holds for a uid.
enum Stored {
    /// The canonical document, to be served as is.
    Document(String),
    /// JSON assembled from the normalized tables (an order stored before migration 0003).
    Assembled(String),
}

const NEWEST_COLUMNS: &str = "SELECT o.order_uid, o.date_created, o.date_created_ns, \
    o.customer_id, p.amount, p.currency, o.item_count::int8 \
    FROM orders o JOIN payments p ON p.order_uid = o.order_uid";
const NEWEST_ORDER: &str = "ORDER BY o.date_created DESC, o.order_uid DESC LIMIT $1";

/// The first page.
static NEWEST_SQL: LazyLock<String> = LazyLock::new(|| format!("{NEWEST_COLUMNS} {NEWEST_ORDER}"));
/// A later page. The row comparison matches the index order, so it bounds an index range scan.
static NEWEST_BEFORE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("{NEWEST_COLUMNS} WHERE (o.date_created, o.order_uid) < ($2, $3) {NEWEST_ORDER}")
});

/// One line of the newest-orders list (contract §5: these fields, in this order).
/// [`OrderSummary::KEYS`] names them in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderSummary {
    pub order_uid: String,
    /// RFC 3339 in UTC, rendered like the order itself.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub date_created: DateTime<Utc>,
    pub customer_id: String,
    /// `payment.amount`, in minor units.
    pub amount: i64,
    pub currency: String,
    /// Number of items in the order.
    pub items: i64,
}

impl OrderSummary {
    /// The JSON keys of a summary, in the order contract §5 fixes (and serialization keeps).
    pub const KEYS: [&'static str; 6] = [
        "order_uid",
        "date_created",
        "customer_id",
        "amount",
        "currency",
        "items",
    ];
}

fn rfc3339<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

impl OrderRepository {
    /// The stored order with this uid, if any.
    #[tracing::instrument(skip_all, fields(order_uid = uid), err(level = "debug"))]
    pub async fn get(&self, uid: &str) -> Result<Option<ValidOrder>, StoreError> {
        let Some((_, stored)) = self.db.bounded(self.fetch(&[uid])).await?.pop() else {
            return Ok(None);
        };
        // Only validated orders are ever written, so what comes back is valid.
        let order = match stored {
            Stored::Document(json) => {
                ValidOrder::from_store_json(&json).map_err(|err| undecodable(uid, &err))?
            }
            Stored::Assembled(json) => assembled(uid, &json)?,
        };
        Ok(Some(order))
    }

    /// The canonical JSON of the stored order (what the read API and the cache serve). A stored
    /// document is returned as it is, without parsing it.
    #[tracing::instrument(skip_all, fields(order_uid = uid), err(level = "debug"))]
    pub async fn get_json(&self, uid: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_json_many(&[uid])
            .await?
            .pop()
            .map(|(_, json)| json))
    }

    /// [`Self::get_json`] for many uids in one statement (one round trip, one statement's
    /// overhead in PostgreSQL): `(uid, json)` for each uid that is stored, in no particular
    /// order; a uid that is not stored has no pair.
    #[tracing::instrument(skip_all, fields(uids = uids.len()), err(level = "debug"))]
    pub async fn get_json_many(&self, uids: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
        let found = self.db.bounded(self.fetch(uids)).await?;
        found
            .into_iter()
            .map(|(uid, stored)| {
                let json = match stored {
                    Stored::Document(json) => json,
                    Stored::Assembled(json) => assembled(&uid, &json)?.canonical_json().to_owned(),
                };
                Ok((uid, json))
            })
            .collect()
    }

    async fn fetch(&self, uids: &[&str]) -> Result<Vec<(String, Stored)>, StoreError> {
        let client = self.db.pool().get().await?;
        let statement = client.prepare_cached(GET_SQL).await?;
        let mut found = Vec::with_capacity(uids.len());
        let mut legacy = Vec::new();
        for row in client.query(&statement, &[&uids]).await? {
            let uid: String = row.try_get(0)?;
            match row.try_get::<_, Option<String>>(1)? {
                Some(document) => found.push((uid, Stored::Document(document))),
                None => legacy.push(uid),
            }
        }
        if legacy.is_empty() {
            return Ok(found);
        }
        let statement = client.prepare_cached(&ASSEMBLE_SQL).await?;
        let assembled = client.query(&statement, &[&legacy]).await?;
        for row in &assembled {
            found.push((row.try_get(0)?, Stored::Assembled(row.try_get(1)?)));
        }
        // The statement joins deliveries and payments; an order without them would be a broken
        // store, not an order.
        if assembled.len() < legacy.len() {
            let missing = legacy
                .iter()
                .find(|uid| !found.iter().any(|(have, _)| have == *uid))
                .map_or("", String::as_str);
            return Err(StoreError::Other(format!(
                "stored order {missing} has neither a document nor its delivery and payment rows"
            )));
        }
        Ok(found)
    }

    /// Up to `limit` orders, newest `date_created` first (ties by uid, descending), strictly
    /// after the `before` cursor — the `(date_created, order_uid)` of the last row of the
    /// previous page. Keyset pagination: every page is an index range scan, however deep.
    #[tracing::instrument(skip_all, fields(limit = limit), err(level = "debug"))]
    pub async fn newest(
        &self,
        limit: i64,
        before: Option<(DateTime<Utc>, String)>,
    ) -> Result<Vec<OrderSummary>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        self.db.bounded(self.page(limit, before)).await
    }

    async fn page(
        &self,
        limit: i64,
        before: Option<(DateTime<Utc>, String)>,
    ) -> Result<Vec<OrderSummary>, StoreError> {
        let client = self.db.pool().get().await?;
        let rows = match &before {
            None => {
                client
                    .query(&client.prepare_cached(&NEWEST_SQL).await?, &[&limit])
                    .await?
            }
            Some((at, uid)) => {
                // Sub-microsecond parts are not part of the sort key (timestamptz is).
                let (micros, _) = split_nanos(*at);
                let statement = client.prepare_cached(&NEWEST_BEFORE_SQL).await?;
                client.query(&statement, &[&limit, &micros, uid]).await?
            }
        };
        rows.iter()
            .map(|row| {
                let at: DateTime<Utc> = row.try_get(1)?;
                let nanos: i16 = row.try_get(2)?;
                Ok(OrderSummary {
                    order_uid: row.try_get(0)?,
                    date_created: at + TimeDelta::nanoseconds(i64::from(nanos)),
                    customer_id: row.try_get(3)?,
                    amount: row.try_get(4)?,
                    currency: row.try_get(5)?,
                    items: row.try_get(6)?,
                })
            })
            .collect()
    }
}

/// An order assembled from the normalized tables, read with the model ingest used.
fn assembled(uid: &str, json: &str) -> Result<ValidOrder, StoreError> {
    let order: Order = serde_json::from_str(json).map_err(|err| undecodable(uid, &err))?;
    Ok(ValidOrder::from_store(order))
}

fn undecodable(uid: &str, err: &dyn std::fmt::Display) -> StoreError {
    StoreError::Other(format!("stored order {uid} does not decode: {err}"))
}
