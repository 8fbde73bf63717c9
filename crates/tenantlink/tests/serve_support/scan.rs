//! Looking for secrets in what a run leaves behind (database files, dumps, logs, API answers).
//! A secret counts as found in any of its usual spellings: raw bytes, hex (either case), and
//! base64 or base64url *at any byte alignment* — a base64 encoder groups bytes by three from the
//! start of its input, so a secret embedded at an unknown offset has three possible encodings.

/// A secret and every spelling of it to look for.
pub struct Secret {
    pub name: String,
    needles: Vec<(String, Vec<u8>)>,
}

impl Secret {
    /// Raw, hex and base64/base64url spellings of `bytes`.
    pub fn bytes(name: impl Into<String>, bytes: &[u8]) -> Self {
        assert!(
            bytes.len() >= 8,
            "a secret this short would match by chance"
        );
        let mut needles = vec![
            ("raw".to_owned(), bytes.to_vec()),
            ("hex".to_owned(), hex(bytes).into_bytes()),
            (
                "HEX".to_owned(),
                hex(bytes).to_ascii_uppercase().into_bytes(),
            ),
        ];
        // Wherever the secret sits, one of these three suffixes starts on a group boundary of
        // the surrounding encoding; only its whole three-byte groups encode the same whatever
        // follows the secret.
        for skip in 0..3 {
            let aligned = &bytes[skip..];
            let whole = aligned.len() / 3 * 3;
            let encoded = base64_standard(&aligned[..whole]);
            if encoded.len() >= 8 {
                needles.push((format!("base64+{skip}"), encoded.clone().into_bytes()));
                let url = encoded.replace('+', "-").replace('/', "_");
                needles.push((format!("base64url+{skip}"), url.into_bytes()));
            }
        }
        Self {
            name: name.into(),
            needles,
        }
    }

    pub fn text(name: impl Into<String>, text: &str) -> Self {
        Self::bytes(name, text.as_bytes())
    }

    /// Extra literal spellings (e.g. the lines of a PEM file).
    pub fn also(mut self, spelling: &str, bytes: &[u8]) -> Self {
        self.needles.push((spelling.to_owned(), bytes.to_vec()));
        self
    }
}

/// Every (artifact, secret, spelling) found; empty when clean.
pub fn find_secrets(artifacts: &[(String, Vec<u8>)], secrets: &[Secret]) -> Vec<String> {
    let mut found = Vec::new();
    for (artifact, haystack) in artifacts {
        for secret in secrets {
            for (spelling, needle) in &secret.needles {
                if contains(haystack, needle) {
                    found.push(format!("{} ({spelling}) in {artifact}", secret.name));
                }
            }
        }
    }
    found
}

/// Shapes of secrets whose value the test cannot know (the service's own delegated and app-only
/// tokens, a generated private key): JWTs, PEM private keys, the DER prefix of a PKCS#8 RSA
/// private key (raw, hex, base64 at every alignment).
pub fn find_secret_shapes(artifacts: &[(String, Vec<u8>)]) -> Vec<String> {
    // version 0, AlgorithmIdentifier rsaEncryption with NULL, then the OCTET STRING holding the
    // PKCS#1 key: this never occurs in a certificate (whose key is a BIT STRING after the OID).
    const PKCS8_RSA_PREFIX: [u8; 20] = [
        0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
        0x01, 0x05, 0x00, 0x04, 0x82,
    ];
    let shapes = [
        Secret::bytes("PKCS#8 RSA private key", &PKCS8_RSA_PREFIX),
        Secret::text("PEM private key", "PRIVATE KEY-----"),
    ];
    let mut found = find_secrets(artifacts, &shapes);
    for (artifact, haystack) in artifacts {
        if let Some(at) = find_jwt(haystack) {
            let end = (at + 40).min(haystack.len());
            found.push(format!(
                "a JWT in {artifact}: {}…",
                String::from_utf8_lossy(&haystack[at..end])
            ));
        }
    }
    found
}

/// Start of something shaped like a compact JWS: `eyJ…` `.` `eyJ…` `.` with base64url segments
/// of at least 10 characters each.
fn find_jwt(haystack: &[u8]) -> Option<usize> {
    let is_b64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let segment = |from: usize| -> Option<usize> {
        if !haystack[from..].starts_with(b"eyJ") {
            return None;
        }
        let len = haystack[from..]
            .iter()
            .take_while(|b| is_b64url(**b))
            .count();
        (len >= 10 && haystack.get(from + len) == Some(&b'.')).then_some(from + len + 1)
    };
    (0..haystack.len().saturating_sub(3)).find(|&at| segment(at).and_then(segment).is_some())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || haystack.len() < needle.len() {
        return false;
    }
    let first = needle[0];
    haystack
        .windows(needle.len())
        .any(|w| w[0] == first && w == needle)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn base64_standard(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => panic!("not base64: {c:#x}"),
        }
    };
    let digits: Vec<u32> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (d << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The scan must be able to see what it looks for: every spelling is found when planted.
pub fn assert_scan_sees_planted_secrets() {
    let secret = b"planted-secret-\x00\xff\x10bytes";
    for prefix in [&b""[..], b"x", b"xy"] {
        let mut plain = prefix.to_vec();
        plain.extend_from_slice(secret);
        plain.extend_from_slice(b"tail");
        for haystack in [
            plain.clone(),
            hex(&plain).into_bytes(),
            hex(&plain).to_ascii_uppercase().into_bytes(),
            base64_standard(&plain).into_bytes(),
            base64_standard(&plain)
                .replace('+', "-")
                .replace('/', "_")
                .into_bytes(),
        ] {
            let found = find_secrets(
                &[("planted".into(), haystack.clone())],
                &[Secret::bytes("planted", secret)],
            );
            assert!(
                !found.is_empty(),
                "the scan misses {:?}",
                String::from_utf8_lossy(&haystack)
            );
        }
    }
    assert_eq!(base64_decode(&base64_standard(secret)), secret);
    let jwt = b"log: token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eXoifQ.c2lnbmF0dXJl end";
    assert!(!find_secret_shapes(&[("planted".into(), jwt.to_vec())]).is_empty());
}
