//! Plugin manifests: loading the module in a warm node process (`load`), validating it
//! (`validate`, contract-http.md §3.5/§3.6) and the install-time
//! capability consistency check (`consistency`).

mod consistency;
mod load;
mod validate;
mod vocabulary;

pub use consistency::check_capability_consistency;
pub use load::ManifestLoader;
pub use validate::{validate, validate_with};
pub use vocabulary::CAPABILITIES;
