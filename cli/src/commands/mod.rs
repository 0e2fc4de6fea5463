//! One module per command.

pub mod athena;
pub mod cancel;
pub mod explain;
pub mod plan;
pub mod status;
pub mod whoami;
