//! What tests need beyond the code under test. `oracles` and `account_api` are built always:
//! the fuzz targets and the corpus replay test share the oracles' checks, and the process
//! tests run the stand-in Account API beside a real `mailvend serve`. The rest (ports, the moto server, an SMTP sink, doubles that fail on purpose) exists only in
//! unit tests.

#[doc(hidden)]
pub mod oracles;

#[doc(hidden)]
pub mod account_api;
#[cfg(test)]
mod faulty_mailer;
#[cfg(test)]
mod faulty_store;
#[cfg(test)]
pub mod moto;
#[cfg(test)]
pub mod receiver;
#[cfg(test)]
mod support;

#[cfg(test)]
pub use faulty_mailer::{Fault, Faulty};
#[cfg(test)]
pub use faulty_store::FaultyStore;
#[cfg(test)]
pub use support::*;
