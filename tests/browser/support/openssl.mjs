// A custom certificate as an administrator would make one: the `openssl` CLI, RSA 2048, exported
// as a password-protected PKCS#12 file.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function openssl(args) {
  return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
}

/**
 * Returns { dir, pfxPath, password, thumbprint (upper-case SHA-1 hex), derBase64 (public part) }.
 * The password goes to openssl through a file, not the command line.
 */
export function makePfx(password, subject = '/CN=tenantlink browser upload') {
  const dir = mkdtempSync(join(tmpdir(), 'tenantlink-pfx-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const pfxPath = join(dir, 'custom.pfx');
  const passFile = join(dir, 'pass.txt');
  writeFileSync(passFile, password, { mode: 0o600 });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '90', '-subj', subject, '-keyout', key, '-out', cert]);
  openssl(['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', pfxPath, '-passout', `file:${passFile}`]);
  const fingerprint = openssl(['x509', '-in', cert, '-noout', '-fingerprint', '-sha1']);
  const thumbprint = fingerprint.trim().split('=').pop().replaceAll(':', '').toUpperCase();
  const der = execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER']);
  return { dir, pfxPath, password, thumbprint, derBase64: Buffer.from(der).toString('base64') };
}

