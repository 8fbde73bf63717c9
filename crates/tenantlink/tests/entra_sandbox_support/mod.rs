//! Harness of `entra_cli_sandbox`: `tenantlink entra …` runs whose device sign-in the test
//! approves on a standalone sandbox (`crate::sandbox_process::Sandbox`) as soon as the CLI
//! prints the code.

use crate::sandbox_process::{Sandbox, tenantlink_command};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

/// What a finished `tenantlink entra …` run left.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{self:#?}");
        self
    }
}

/// Runs `tenantlink ARGS` to completion (no sign-in), with `stdin` written to its input.
pub async fn run(args: &[String], stdin: &str) -> Finished {
    use tokio::io::AsyncWriteExt;
    let mut child = tenantlink_async(args).spawn().expect("run tenantlink");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.expect("stdin");
    drop(input);
    let output = child.wait_with_output().await.expect("tenantlink");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn tenantlink_async(args: &[String]) -> tokio::process::Command {
    let mut command = tokio::process::Command::from(tenantlink_command());
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `tenantlink ARGS`, a command that signs in with the device flow: reads its stderr line
/// by line until the user code appears, approves it as the administrator, and waits for the end.
/// Returns the code the CLI printed and the run.
pub async fn run_with_sign_in(sandbox: &Sandbox, args: &[String]) -> (String, Finished) {
    let mut child = tenantlink_async(args).spawn().expect("run tenantlink");
    drop(child.stdin.take());
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    let user_code = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).await.expect("read stderr") == 0 {
            let output = child.wait_with_output().await.expect("tenantlink");
            panic!(
                "tenantlink ended before printing a code ({:?}); stderr: {seen}; stdout: {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stdout)
            );
        }
        seen.push_str(&line);
        // "(code ABCD23456 expires at …; waiting for the sign-in, Ctrl-C to cancel)"
        if let Some(rest) = line.trim().strip_prefix("(code ") {
            break rest.split_whitespace().next().expect("a code").to_owned();
        }
    };
    sandbox.approve(&user_code).await;
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).await.expect("stderr");
    seen.push_str(&rest);
    let output = child.wait_with_output().await.expect("tenantlink");
    (
        user_code,
        Finished {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: seen,
        },
    )
}
