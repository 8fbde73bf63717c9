//! Set-up that the tests of several crates share, so that it is written once. Used only as a
//! dev-dependency.

pub mod postgres;

pub use postgres::TestDatabase;
