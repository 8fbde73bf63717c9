//! tenantlink-jose
