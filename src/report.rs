//! Run outputs: front tables (CSV/JSON), SVG plots and per-run reports.
