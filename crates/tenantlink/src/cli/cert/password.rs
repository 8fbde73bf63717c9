//! Where a PFX password comes from. Never a plain argument: it would end up in shell history
//! and in `ps` output for every user on the machine.

use super::kinded;
use clap::Args;
use std::io::Read;
use std::path::{Path, PathBuf};
use tenantlink_secret::SecretString;
use zeroize::Zeroizing;

/// Passwords above this size are certainly a wrong file (a PFX, a key) passed by mistake.
const MAX_PASSWORD_BYTES: u64 = 64 * 1024;

#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct PasswordSource {
    /// Read the PFX password from FILE (one trailing newline is removed, nothing else).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the PFX password from standard input (one trailing newline is removed).
    #[arg(long)]
    pub password_stdin: bool,
}

impl PasswordSource {
    /// The password, or `None` when neither source was given.
    pub fn read(&self) -> anyhow::Result<Option<SecretString>> {
        if let Some(path) = &self.password_file {
            let raw = read_bounded(std::fs::File::open(path), path)?;
            return decode(raw, &path.display().to_string()).map(Some);
        }
        if self.password_stdin {
            let raw = read_bounded(Ok(std::io::stdin().lock()), Path::new("standard input"))?;
            return decode(raw, "standard input").map(Some);
        }
        Ok(None)
    }
}

fn read_bounded<R: Read>(
    source: std::io::Result<R>,
    origin: &Path,
) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let unreadable = |err: std::io::Error| {
        kinded(
            "password_unreadable",
            format!("cannot read the password from {}: {err}", origin.display()),
        )
    };
    let mut raw = Zeroizing::new(Vec::new());
    source
        .map_err(unreadable)?
        .take(MAX_PASSWORD_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(unreadable)?;
    if raw.len() as u64 > MAX_PASSWORD_BYTES {
        return Err(kinded(
            "password_too_long",
            format!(
                "the password from {} is longer than {MAX_PASSWORD_BYTES} bytes; is it the right file?",
                origin.display()
            ),
        ));
    }
    Ok(raw)
}

fn decode(mut raw: Zeroizing<Vec<u8>>, origin: &str) -> anyhow::Result<SecretString> {
    strip_one_newline(&mut raw);
    // PKCS#12 passwords are BMPStrings of Unicode text; arbitrary bytes have no meaning there.
    let text = String::from_utf8(std::mem::take(&mut *raw)).map_err(|err| {
        // The rejected bytes are the password: wipe them before they are dropped.
        let mut bytes = err.into_bytes();
        zeroize::Zeroize::zeroize(&mut bytes);
        kinded(
            "password_not_utf8",
            format!("the password from {origin} is not UTF-8 text"),
        )
    })?;
    Ok(SecretString::from(text))
}

/// Editors and `echo` add a final newline that is not part of the password; anything else
/// (spaces, a second newline) is kept because it may be.
fn strip_one_newline(raw: &mut Vec<u8>) {
    if raw.ends_with(b"\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n") {
        raw.truncate(raw.len() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::strip_one_newline;

    fn stripped(input: &[u8]) -> Vec<u8> {
        let mut raw = input.to_vec();
        strip_one_newline(&mut raw);
        raw
    }

    #[test]
    fn removes_exactly_one_trailing_newline() {
        assert_eq!(stripped(b"secret\n"), b"secret");
        assert_eq!(stripped(b"secret\r\n"), b"secret");
        assert_eq!(stripped(b"secret\n\n"), b"secret\n");
        assert_eq!(stripped(b"secret "), b"secret ");
        assert_eq!(stripped(b"\n"), b"");
        assert_eq!(stripped(b""), b"");
    }
}
