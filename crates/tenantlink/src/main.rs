//! The `tenantlink` binary: one entry point for the service, the sandbox tenant and the
//! administrator/support commands. Each command family lives in its own module under `cli/`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // One line, stable kind first; the cause chain follows on the same line.
            eprintln!("error: {}", cli::render_error(&err));
            ExitCode::from(1)
        }
    }
}
