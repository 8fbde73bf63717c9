// Talks to the sandbox tenant the way a script would: HTTPS trusting the sandbox's own CA (never
// "ignore errors"), the control API, a delegated Graph token from a device sign-in, and Graph.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

/** One HTTPS request; `json` or `form` as the body. Resolves to { status, body } (parsed JSON or text). */
export function sandboxRequest(sandbox, url, { method = 'GET', json, form, headers = {} } = {}) {
  const ca = readFileSync(sandbox.ca_file);
  let payload;
  const sent = { ...headers };
  if (json !== undefined) {
    payload = JSON.stringify(json);
    sent['content-type'] = 'application/json';
  } else if (form !== undefined) {
    payload = new URLSearchParams(form).toString();
    sent['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (payload !== undefined) sent['content-length'] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: sent, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** POST to the control API (`/_sandbox/...`); fails the test on a non-2xx answer. */
export async function control(sandbox, path, body) {
  return controlRequest(sandbox, path, { method: 'POST', json: body });
}

/** GET from the control API (`/_sandbox/...`), e.g. an application as the sandbox holds it. */
export async function controlGet(sandbox, path) {
  return controlRequest(sandbox, path, { method: 'GET' });
}

async function controlRequest(sandbox, path, options) {
  // The sandbox embedded in `serve` publishes a control secret in sandbox.json.
  const headers = sandbox.control_secret ? { authorization: `Bearer ${sandbox.control_secret}` } : {};
  const { status, body: answer } = await sandboxRequest(sandbox, `${sandbox.control_base}${path}`, { ...options, headers });
  if (status < 200 || status > 299) {
    throw new Error(`sandbox control ${options.method} ${path}: ${status} ${JSON.stringify(answer)}`);
  }
  return answer;
}

/** The sandbox account with a directory role (the tenant's administrator). */
export function sandboxAdministrator(sandbox) {
  const admin = sandbox.users.find((u) => Array.isArray(u.roles) && u.roles.length > 0);
  if (!admin) throw new Error(`sandbox.json lists no administrator: ${JSON.stringify(sandbox.users.map((u) => u.username))}`);
  return admin;
}

/**
 * A delegated Graph token (for `scope`) for the sandbox administrator, or for `as` = { tenant
 * (id or domain), username } of another tenant: device code, approved through the control API,
 * redeemed at the token endpoint (approved before the first poll, so one poll does).
 */
export async function delegatedGraphToken(sandbox, scope = 'https://graph.microsoft.com/Application.ReadWrite.All', as = undefined) {
  const tenant = as?.tenant ?? sandbox.tenant_id;
  const username = as?.username ?? sandboxAdministrator(sandbox).username;
  const tokenBase = `${sandbox.authority}/${tenant}/oauth2/v2.0`;
  const started = await sandboxRequest(sandbox, `${tokenBase}/devicecode`, {
    method: 'POST',
    form: { client_id: sandbox.public_client_id, scope },
  });
  if (started.status !== 200) throw new Error(`devicecode: ${started.status} ${JSON.stringify(started.body)}`);
  await control(sandbox, '/device/approve', { user_code: started.body.user_code, username });
  const token = await sandboxRequest(sandbox, `${tokenBase}/token`, {
    method: 'POST',
    form: {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      client_id: sandbox.public_client_id,
      device_code: started.body.device_code,
    },
  });
  if (token.status !== 200) throw new Error(`token: ${token.status} ${JSON.stringify(token.body)}`);
  return token.body.access_token;
}

/** GET from the sandbox's Graph with a token; fails the test unless it answers 200. */
export async function graphGet(sandbox, token, path) {
  const { status, body } = await graph(sandbox, token, path);
  if (status !== 200) throw new Error(`GET ${path}: ${status} ${JSON.stringify(body)}`);
  return body;
}

async function graph(sandbox, token, path, options = {}) {
  return sandboxRequest(sandbox, `${sandbox.graph_base}${path}`, {
    ...options,
    headers: { authorization: `Bearer ${token}`, ...(options.headers ?? {}) },
  });
}

/** The backup application's keyCredentials as Graph reports them, with the key bytes. */
export async function backupAppKeys(sandbox, token) {
  const { status, body } = await graph(
    sandbox,
    token,
    `/applications/${sandbox.backup_app.object_id}?$select=keyCredentials`,
  );
  if (status !== 200) throw new Error(`GET application: ${status} ${JSON.stringify(body)}`);
  return body.keyCredentials ?? [];
}

/** Upper-case hex SHA-1 of each key's DER certificate, computed here rather than trusted. */
export function keyThumbprints(keys) {
  return keys
    .filter((k) => typeof k.key === 'string' && k.key.length > 0)
    .map((k) => createHash('sha1').update(Buffer.from(k.key, 'base64')).digest('hex').toUpperCase());
}

/**
 * Adds a certificate to the backup application with Graph's read–merge–write: every existing key
 * is sent back by its keyId (key null keeps the stored bytes), so no other key is removed.
 */
export async function attachCertificate(sandbox, token, derBase64, displayName) {
  const existing = await backupAppKeys(sandbox, token);
  const keyCredentials = [
    ...existing.map((k) => ({ keyId: k.keyId, type: k.type, usage: k.usage, key: null })),
    { type: 'AsymmetricX509Cert', usage: 'Verify', key: derBase64, displayName },
  ];
  const { status, body } = await graph(sandbox, token, `/applications/${sandbox.backup_app.object_id}`, {
    method: 'PATCH',
    json: { keyCredentials },
  });
  if (status !== 204) throw new Error(`PATCH application: ${status} ${JSON.stringify(body)}`);
  const after = keyThumbprints(await backupAppKeys(sandbox, token));
  const before = keyThumbprints(existing);
  return { before, after };
}

/**
 * Removes the certificate with this SHA-1 thumbprint from the backup application, as a tenant
 * administrator deleting it in Entra ID would: read–merge–write where every other key is sent
 * back by its keyId (key null keeps the stored bytes). The thumbprint is computed from the key
 * bytes Graph returns, not taken from customKeyIdentifier. Fails unless exactly one key matches.
 * Returns { removed (the keyCredential, with its key bytes), before, after } (thumbprints).
 */
export async function removeCertificate(sandbox, token, thumbprint) {
  const existing = await backupAppKeys(sandbox, token);
  const wanted = thumbprint.toUpperCase();
  const matches = existing.filter((k) => keyThumbprints([k])[0] === wanted);
  if (matches.length !== 1) {
    throw new Error(`expected one key with thumbprint ${wanted} on the application, found ${JSON.stringify(keyThumbprints(existing))}`);
  }
  const [removed] = matches;
  const keyCredentials = existing
    .filter((k) => k.keyId !== removed.keyId)
    .map((k) => ({ keyId: k.keyId, type: k.type, usage: k.usage, key: null }));
  const { status, body } = await graph(sandbox, token, `/applications/${sandbox.backup_app.object_id}`, {
    method: 'PATCH',
    json: { keyCredentials },
  });
  if (status !== 204) throw new Error(`PATCH application: ${status} ${JSON.stringify(body)}`);
  const after = keyThumbprints(await backupAppKeys(sandbox, token));
  return { removed, before: keyThumbprints(existing), after };
}

/** The first message of a user's mailbox as Graph lists it (delegated: one's own mailbox). */
export async function firstMessage(sandbox, token, user) {
  const { status, body } = await graph(sandbox, token, `/users/${encodeURIComponent(user)}/messages?$top=1&$select=id,subject`);
  if (status !== 200 || !body.value?.length) throw new Error(`GET messages: ${status} ${JSON.stringify(body)}`);
  return body.value[0];
}
