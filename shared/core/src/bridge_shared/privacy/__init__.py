"""Privacy by design: field classification, crypto-shredding (sealed personal fields and the key
vault), and the pieces every service's erasure, export and retention share (docs/privacy.md)."""
