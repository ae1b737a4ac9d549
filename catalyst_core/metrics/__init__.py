"""Ad performance data: the daily rows per ad, the metric registry, ingestion and listing."""
