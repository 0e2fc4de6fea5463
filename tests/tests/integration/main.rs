//! The integration tests: one binary, one module per area (the layout nextest recommends),
//! so the SDKs are linked once and a long test (the chaos run) overlaps the others instead of
//! holding up the binaries after it. Each test starts and stops its own emulator.
//!
//! Run one area with `cargo test -p offsite-tests --test integration <module>::`, e.g.
//! `hostile::` or `chaos::`.

mod capacity;
mod chaos;
mod deployed_permissions;
mod deployed_shape;
mod dynamo_export;
mod emulator_dynamodb_export;
mod emulator_iam;
mod emulator_rds_cross_account;
mod emulator_rds_paging;
mod emulator_requests;
mod emulator_snapshot_lifecycle;
mod emulator_sns_cross_account;
mod exporter;
mod faults;
mod hostile;
mod importer;
mod rds_export;
mod restore_data;
mod restore_test;
mod scanner;
