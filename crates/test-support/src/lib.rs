//! Set-up that the tests of several crates share, so that it is written once. Used only as a
//! dev-dependency.

pub mod postgres;
pub mod python;
pub mod smtp_server;
pub mod tls;
pub mod webhook_receiver;

pub use postgres::TestDatabase;
pub use python::python;
pub use smtp_server::{ReceivedEmail, SmtpServer, SmtpServerMode, SmtpServerOptions};
pub use tls::TestCertificates;
pub use webhook_receiver::{Answer, ReceivedRequest, WebhookReceiver};
