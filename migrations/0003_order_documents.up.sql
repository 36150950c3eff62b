-- The canonical document of each order: the exact JSON the read API serves, known fields in
-- contract order and then the fields this version does not know, as they came (contract §11).
--
-- `json`, not `jsonb`: jsonb re-orders object keys and rewrites numbers, json keeps the text
-- byte for byte (and still refuses text that is not JSON). The read side fetches this one column
-- by primary key instead of assembling the order from four tables.
--
-- Rows stored before this migration keep NULL and are served from the normalized tables, which
-- stay: `GET /orders`, the CHECK constraints and analytics use them. Adding a nullable column
-- without a default does not rewrite the table, so this is instant on a large `orders`.

ALTER TABLE orders ADD COLUMN document json;
