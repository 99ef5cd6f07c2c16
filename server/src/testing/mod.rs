//! What tests need beyond the code under test. `oracles` is built always: the fuzz targets
//! and the corpus replay test (another crate and an integration test) share its checks. The
//! rest (ports, the moto server, an SMTP sink, doubles that fail on purpose) exists only in
//! unit tests.

#[doc(hidden)]
pub mod oracles;

#[cfg(test)]
pub mod account_api;
#[cfg(test)]
mod faulty_mailer;
#[cfg(test)]
mod faulty_store;
#[cfg(test)]
pub mod moto;
#[cfg(test)]
mod support;

#[cfg(test)]
pub use faulty_mailer::{Fault, Faulty};
#[cfg(test)]
pub use faulty_store::FaultyStore;
#[cfg(test)]
pub use support::*;
