//! "Connect an organization" and Reconnect against the in-memory repository, the scripted
//! directory and the scripted registrar (a fake tenant): the happy path, Graph's refusals
//! explained with nothing half-made, reuse instead of a second application, and a process
//! killed at each step.

mod consent;
mod crash;
mod failures;
mod happy;
mod world;
