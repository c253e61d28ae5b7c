"""Reporting has no scheduled work. This empty package exists only because the `reporting-layers`
import-linter contract names a `jobs` layer and import-linter requires every named layer to exist."""
