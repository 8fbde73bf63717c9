//! A minimal Entra ID + Graph on loopback for the client's tests: real HTTP, scripted faults,
//! assertion and proof signatures checked with the registered certificates, request counting.
//! Deliberately small: the full emulator is the sandbox tenant.
#![allow(dead_code, unused_imports)]

pub mod certs;
pub mod server;

pub use certs::TestCert;
pub use server::{FakeEntra, Fault};
pub use tenantlink_clock::RecordingSleeper;

use std::sync::Arc;
use std::time::Duration;

use tenantlink_clock::ManualClock;
use tenantlink_entra::{
    DeviceFlowClient, Endpoints, GraphClient, NoJitter, RetryPolicy, TenantId, TokenClient,
    Transport, TransportConfig,
};
use time::macros::datetime;

pub use server::{APP_OBJECT_ID, CLIENT_ID, TENANT};

/// Everything a test needs: a fake Entra on loopback, a manual clock, a sleeper that records
/// waits (and moves the clock), and clients wired to them.
pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub sleeper: Arc<RecordingSleeper>,
    pub server: FakeEntra,
    pub endpoints: Endpoints,
    pub transport: Transport,
}

pub const START: time::OffsetDateTime = datetime!(2026-11-27 09:00 UTC);

impl Harness {
    pub async fn start() -> Self {
        Self::with_config(TransportConfig {
            retry: RetryPolicy {
                max_retries: 3,
                base_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(5),
                max_retry_after: Duration::from_secs(60),
            },
            ..TransportConfig::default()
        })
        .await
    }

    pub async fn with_config(config: TransportConfig) -> Self {
        let clock = Arc::new(ManualClock::at(START));
        let sleeper = Arc::new(RecordingSleeper::advancing(clock.clone()));
        let server = FakeEntra::start(clock.clone()).await;
        let endpoints = Endpoints::explicit(server.base(), server.base()).unwrap();
        let transport =
            Transport::with_timing(&config, sleeper.clone(), Arc::new(NoJitter)).unwrap();
        Self {
            clock,
            sleeper,
            server,
            endpoints,
            transport,
        }
    }

    pub fn tenant(&self) -> TenantId {
        TenantId::parse(TENANT).unwrap()
    }

    pub fn tokens(&self) -> TokenClient {
        TokenClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        )
    }

    pub fn device(&self) -> DeviceFlowClient {
        DeviceFlowClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        )
    }

    pub fn auth_code(&self) -> tenantlink_entra::AuthCodeClient {
        tenantlink_entra::AuthCodeClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        )
    }

    pub fn graph(&self) -> GraphClient {
        GraphClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        )
    }

    /// A 2048-bit certificate valid from a day ago for a year, registered on the app.
    pub fn registered_cert(&self, name: &str) -> TestCert {
        let cert = TestCert::generate(
            name,
            START - time::Duration::days(1),
            time::Duration::days(365),
        );
        self.server
            .register_key(&cert.der, cert.not_before, cert.not_after);
        cert
    }
}
