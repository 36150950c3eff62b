-- Normalized order storage (contract §1). The CHECK constraints mirror the validation rules that
-- PostgreSQL can enforce cheaply per row, so a bug upstream cannot store an order the read side
-- would refuse. Rules that span tables (goods_total = sum(items), items' track_number) stay in
-- the application: enforcing them here would need triggers on the hot write path.
--
-- order_uid is COLLATE "C": it is an ASCII identifier, so byte order is the natural order, the
-- B-tree compares with memcmp, and keyset pagination is independent of the server's locale.

CREATE TABLE orders (
    order_uid          text COLLATE "C" PRIMARY KEY
                       CHECK (order_uid ~ '^[A-Za-z0-9_-]{1,64}$'),
    track_number       text        NOT NULL CHECK (track_number <> ''),
    entry              text        NOT NULL CHECK (entry <> ''),
    locale             text        NOT NULL CHECK (locale <> ''),
    internal_signature text        NOT NULL,
    customer_id        text        NOT NULL CHECK (customer_id <> ''),
    delivery_service   text        NOT NULL CHECK (delivery_service <> ''),
    shardkey           text        NOT NULL CHECK (shardkey <> ''),
    sm_id              bigint      NOT NULL CHECK (sm_id >= 0),
    -- timestamptz keeps microseconds; producers may send nanoseconds (Go's RFC3339Nano), so the
    -- sub-microsecond remainder is kept beside it and the read side serves the same instant.
    date_created       timestamptz NOT NULL,
    date_created_ns    smallint    NOT NULL DEFAULT 0 CHECK (date_created_ns BETWEEN 0 AND 999),
    oof_shard          text        NOT NULL CHECK (oof_shard <> ''),
    -- sha256 of the canonical JSON: equal means a redelivery (duplicate), different means a
    -- conflicting order reusing the uid.
    fingerprint        bytea       NOT NULL CHECK (octet_length(fingerprint) = 32),
    item_count         integer     NOT NULL CHECK (item_count BETWEEN 1 AND 1000),
    stored_at          timestamptz NOT NULL DEFAULT now()
);

-- Newest-first listing with keyset pagination: WHERE (date_created, order_uid) < ($1, $2).
CREATE INDEX orders_newest_idx ON orders (date_created DESC, order_uid DESC);

CREATE TABLE deliveries (
    order_uid text COLLATE "C" PRIMARY KEY REFERENCES orders (order_uid) ON DELETE CASCADE,
    name      text NOT NULL CHECK (name <> ''),
    phone     text NOT NULL CHECK (phone ~ '^\+[0-9]{7,15}$'),
    zip       text NOT NULL CHECK (zip ~ '^[0-9]{3,10}$'),
    city      text NOT NULL CHECK (city <> ''),
    address   text NOT NULL CHECK (address <> ''),
    region    text NOT NULL CHECK (region <> ''),
    email     text NOT NULL CHECK (email LIKE '_%@_%')
);

CREATE TABLE payments (
    order_uid     text COLLATE "C" PRIMARY KEY REFERENCES orders (order_uid) ON DELETE CASCADE,
    transaction   text   NOT NULL,
    request_id    text   NOT NULL,
    currency      text   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    provider      text   NOT NULL CHECK (provider <> ''),
    amount        bigint NOT NULL CHECK (amount >= 0),
    payment_dt    bigint NOT NULL,
    bank          text   NOT NULL CHECK (bank <> ''),
    delivery_cost bigint NOT NULL CHECK (delivery_cost >= 0),
    goods_total   bigint NOT NULL CHECK (goods_total >= 0),
    custom_fee    bigint NOT NULL CHECK (custom_fee >= 0),
    CONSTRAINT payments_transaction_is_order_uid CHECK (transaction = order_uid),
    CONSTRAINT payments_amount_adds_up CHECK (amount = goods_total + delivery_cost + custom_fee)
);

CREATE TABLE items (
    order_uid    text COLLATE "C" NOT NULL REFERENCES orders (order_uid) ON DELETE CASCADE,
    -- Position in the order's items array (0-based, like the `items[N]` paths of validation
    -- errors): the read side rebuilds the array in this order.
    line_no      integer  NOT NULL CHECK (line_no BETWEEN 0 AND 999),
    chrt_id      bigint   NOT NULL CHECK (chrt_id >= 0),
    track_number text     NOT NULL CHECK (track_number <> ''),
    price        bigint   NOT NULL CHECK (price >= 0),
    rid          text     NOT NULL CHECK (rid <> ''),
    name         text     NOT NULL CHECK (name <> ''),
    sale         smallint NOT NULL CHECK (sale BETWEEN 0 AND 100),
    size         text     NOT NULL CHECK (size <> ''),
    total_price  bigint   NOT NULL CHECK (total_price >= 0),
    nm_id        bigint   NOT NULL CHECK (nm_id >= 0),
    brand        text     NOT NULL CHECK (brand <> ''),
    status       bigint   NOT NULL CHECK (status >= 0),
    PRIMARY KEY (order_uid, line_no)
);
