//! The `tenantlink` binary: one entry point for the service, the sandbox tenant and the
//! administrator/support commands. Each command family lives in its own module under `cli/`.

mod allocator;
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arenas = allocator::limit_arenas();
    let args = cli::Cli::parse();
    cli::init_tracing();
    tracing::debug!(
        ?arenas,
        "malloc arena limit (None: MALLOC_ARENA_MAX or not glibc)"
    );
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // One line, stable kind first; the cause chain follows on the same line.
            eprintln!("error: {}", cli::render_error(&err));
            ExitCode::from(1)
        }
    }
}
