//! tenantlink-sandbox
