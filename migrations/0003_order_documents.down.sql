-- Reverts 0003_order_documents: orders are served from the normalized tables again. Unknown
-- fields (contract §11) stored since 0003 are lost with the column.
ALTER TABLE orders DROP COLUMN IF EXISTS document;
