//! The scanner (workload account, scheduled).
//!
//! Finds the pipeline's finished copies, shares them with the vault account, announces them
//! on SNS, reports failed and stuck copies and expires its own copies. Its Lambda binary and
//! decision logic arrive with the scanner issue; this crate is its home in the workspace.
