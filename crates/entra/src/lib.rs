//! tenantlink-entra
