//! One module per command.

pub mod athena;
pub mod explain;
pub mod plan;
pub mod status;
pub mod whoami;
