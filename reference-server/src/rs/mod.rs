//! The reference UMA 2.0 resource server: a small photo API protected through the AS's protection API (FedAuthz). Being built.
