-- Reverts 0001_orders: drops the order tables and every stored order with them.
DROP TABLE IF EXISTS items, payments, deliveries, orders;
